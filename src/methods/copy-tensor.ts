import type { MergeResult, ModelTensor } from "./merge-method.js";

/** An input returned as the result (single-input cases), copied so the caller may reuse its buffers. */
export function copyTensor(tensor: ModelTensor): MergeResult {
	return { data: tensor.data.slice(), shape: [...tensor.shape] };
}
