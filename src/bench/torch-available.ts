import { execFile } from "node:child_process";

/** Whether `python3` can import PyTorch, for the bench's mergekit-style reference. */
export function torchAvailable(): Promise<boolean> {
	return new Promise((resolve) => {
		execFile("python3", ["-c", "import torch"], (error) => resolve(error === null));
	});
}
