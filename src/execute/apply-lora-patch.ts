import { dtypeRounder } from "../methods/kernels/dtype-rounder.js";
import type { StoredTensor } from "../models/load-model.js";
import type { LoraPatch } from "../models/lora-adapter.js";
import { isFloatDtype } from "../safetensors/dtype.js";
import type { TensorFile } from "../safetensors/safetensors-file.js";
import { addLowRankProduct } from "./add-low-rank-product.js";

/**
 * Applies a LoRA adapter's change to one tensor just read (`data`, as float32), reading the adapter's tensors it
 * needs. The result is rounded to the tensor's stored dtype, as the merged model PEFT's merge_and_unload saves would
 * hold it, so that the rest of the merge sees the LoRA-merged model exactly as it sees any other input.
 */
export async function applyLoraPatch(
	data: Float32Array,
	stored: StoredTensor,
	patch: LoraPatch,
	openFile: (path: string) => Promise<TensorFile>,
): Promise<void> {
	const read = async (tensor: StoredTensor): Promise<Float32Array> =>
		(await openFile(tensor.file)).readFloat32(tensor.name);
	switch (patch.kind) {
		case "replace":
			data.set(await read(patch.tensor));
			break;
		case "bias": {
			const bias = await read(patch.b);
			for (let i = 0; i < data.length; i++) {
				data[i] = (data[i] as number) + patch.scaling * (bias[i] as number);
			}
			break;
		}
		case "low-rank": {
			const [m = 0, r = 0] = patch.b.shape;
			const n = patch.a.shape[1] ?? 0;
			addLowRankProduct(data, await read(patch.b), await read(patch.a), m, r, n, patch.scaling, patch.transpose);
			break;
		}
	}
	const round = isFloatDtype(stored.dtype) && stored.dtype !== "F32" ? dtypeRounder(stored.dtype) : undefined;
	if (round) {
		for (let i = 0; i < data.length; i++) {
			data[i] = round(data[i] as number);
		}
	}
}
