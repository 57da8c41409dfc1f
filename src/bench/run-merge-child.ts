import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { MERGE_PROCESS_PRELOAD } from "../engine/merge-process.js";

export interface ChildMerge {
	code: number;
	seconds: number;
	maxRssBytes: number;
	/** Minor and major page faults of the whole process. */
	pageFaults: number;
	stderr: string;
}

const CHILD = fileURLToPath(new URL("./merge-child.js", import.meta.url));

/**
 * Runs `mergesmith merge ARGS…` in a fresh Node process (with `env` added to this one's), its thread pool sized as
 * the mergesmith command sizes its own, and returns what it measured of itself.
 */
export function runMergeChild(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ChildMerge> {
	const options = { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } };
	return new Promise((resolve, reject) => {
		execFile(process.execPath, [...MERGE_PROCESS_PRELOAD, CHILD, ...args], options, (error, stdout, stderr) => {
			const line = stdout.trim().split("\n").at(-1) ?? "";
			try {
				resolve(JSON.parse(line) as ChildMerge);
			} catch {
				reject(new Error(`the merge child failed (${error?.message ?? "no result"}): ${stderr}`));
			}
		});
	});
}
