import type { ModelTensor } from "./merge-method.js";

/**
 * The tensors' values for kernels that decode as they go: every tensor's bf16 bits as stored where every one has
 * them, else every tensor's float32 values (kernels take their inputs all one way).
 */
export function storedInputs(tensors: readonly ModelTensor[]): Float32Array[] | Uint16Array[] {
	const halves = tensors.map((tensor) => tensor.bf16);
	return halves.every((bits) => bits !== undefined) ? halves : tensors.map((tensor) => tensor.data);
}
