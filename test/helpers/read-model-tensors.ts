import { listWeightFiles } from "../../src/safetensors/list-weight-files.js";
import { SafetensorsFile } from "../../src/safetensors/safetensors-file.js";

/** Every tensor of a model folder as float32, whether it holds one model.safetensors or shards with an index. */
export async function readModelTensors(path: string): Promise<Map<string, Float32Array>> {
	const out = new Map<string, Float32Array>();
	for (const shard of await listWeightFiles(path)) {
		const file = await SafetensorsFile.open(shard);
		try {
			for (const tensor of file.tensors.keys()) {
				out.set(tensor, await file.readFloat32(tensor));
			}
		} finally {
			await file.close();
		}
	}
	return out;
}
