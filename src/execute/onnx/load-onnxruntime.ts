import { createRequire } from "node:module";

export type Onnxruntime = typeof import("onnxruntime-node");

let loaded: Onnxruntime | undefined;

/**
 * onnxruntime-node, loaded on first use only: merges on our own CPU kernels never pay for its 45 MB library. Throws,
 * saying what to do, where it cannot be loaded.
 */
export function loadOnnxruntime(): Onnxruntime {
	if (!loaded) {
		try {
			loaded = createRequire(import.meta.url)("onnxruntime-node") as Onnxruntime;
		} catch (error) {
			throw new Error(
				`onnxruntime-node could not be loaded (${(error as Error).message.split("\n")[0]}); reinstall mergesmith's dependencies (npm ci), or use --device cpu`,
			);
		}
	}
	return loaded;
}
