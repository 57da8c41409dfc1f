import type { MergeContext, MergeInputs, MergeMethod, MergeResult } from "../methods/merge-method.js";

/**
 * Somewhere other than mergesmith's own CPU kernels that computes a merge method's per-tensor math (the onnxruntime
 * backend, src/execute/onnx). The executor asks it for every tensor of a method it has a graph for, and runs the
 * method's own kernel otherwise.
 */
export interface TensorBackend {
	/** The `--device` value it serves: `onnx-cpu`, `cuda` or `webgpu`. */
	readonly device: string;
	/** The device as the CLI's line and the card name it, e.g. `cuda (onnxruntime 1.30.0, CUDA execution provider)`. */
	readonly label: string;
	/** Whether it computes this method (by registry name); the others stay on the CPU kernels. */
	hasGraph(method: string): boolean;
	/** Merges one tensor as `method.merge` would; undefined where the method leaves the tensor out. */
	merge(method: MergeMethod, inputs: MergeInputs, context: MergeContext): Promise<MergeResult | undefined>;
	/** Releases its sessions. */
	close(): Promise<void>;
}

/** How the CLI's device line and the card name merges on mergesmith's own kernels. */
export const CPU_LABEL = "cpu (mergesmith's CPU kernels)";

/** The label of the device that computes `method`: the backend's where it has a graph, else the CPU kernels'. */
export function deviceLabel(backend: TensorBackend | undefined, method: string): string {
	return backend?.hasGraph(method) ? backend.label : CPU_LABEL;
}
