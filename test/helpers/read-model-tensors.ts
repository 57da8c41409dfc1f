import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SafetensorsFile } from "../../src/safetensors/safetensors-file.js";

/** Every tensor of a model folder as float32, whether it holds one model.safetensors or shards with an index. */
export async function readModelTensors(path: string): Promise<Map<string, Float32Array>> {
	const out = new Map<string, Float32Array>();
	const index = join(path, "model.safetensors.index.json");
	const files = existsSync(index)
		? [
				...new Set(
					Object.values(
						(JSON.parse(await readFile(index, "utf8")) as { weight_map: Record<string, string> }).weight_map,
					),
				),
			]
		: ["model.safetensors"];
	for (const name of files) {
		const file = await SafetensorsFile.open(join(path, name));
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
