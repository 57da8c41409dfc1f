import { writeFile } from "node:fs/promises";
import { DTYPE_SIZES, encodeFromF32, isFloatDtype, type SafetensorsDtype } from "./dtype.js";
import { elementCount } from "./parse-header.js";
import { layoutShards } from "./shard-layout.js";

export interface InMemoryTensor {
	dtype: SafetensorsDtype;
	shape: readonly number[];
	/** Float values (encoded to dtype) or the raw little-endian bytes. */
	data: Float32Array | Uint8Array;
}

/** Writes a small, whole safetensors file from tensors held in memory (fixtures, tiny models, tools). */
export async function writeSafetensorsFile(
	path: string,
	tensors: Readonly<Record<string, InMemoryTensor>>,
): Promise<void> {
	const names = Object.keys(tensors).sort();
	const layout = layoutShards(
		names.map((name) => ({
			name,
			dtype: (tensors[name] as InMemoryTensor).dtype,
			shape: (tensors[name] as InMemoryTensor).shape,
		})),
		Number.POSITIVE_INFINITY,
	);
	const shard = layout.shards[0];
	if (!shard) {
		throw new Error("no shard laid out");
	}
	const file = new Uint8Array(shard.size);
	file.set(shard.header, 0);
	for (const placed of shard.tensors) {
		const tensor = tensors[placed.name] as InMemoryTensor;
		const target = file.subarray(placed.byteOffset, placed.byteOffset + placed.byteLength);
		if (tensor.data instanceof Float32Array) {
			if (!isFloatDtype(tensor.dtype) || tensor.data.length !== elementCount(tensor.shape)) {
				throw new Error(
					`${placed.name}: ${tensor.data.length} float values do not fit ${tensor.dtype} ${JSON.stringify(tensor.shape)}`,
				);
			}
			encodeFromF32(tensor.data, tensor.dtype, target);
		} else {
			if (tensor.data.length !== elementCount(tensor.shape) * DTYPE_SIZES[tensor.dtype]) {
				throw new Error(
					`${placed.name}: ${tensor.data.length} bytes do not fit ${tensor.dtype} ${JSON.stringify(tensor.shape)}`,
				);
			}
			target.set(tensor.data);
		}
	}
	await writeFile(path, file);
}
