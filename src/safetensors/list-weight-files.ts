import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** The safetensors files of a model folder: those its index names, else model.safetensors. */
export async function listWeightFiles(dir: string): Promise<string[]> {
	const index = join(dir, "model.safetensors.index.json");
	if (existsSync(index)) {
		const parsed = JSON.parse(await readFile(index, "utf8")) as { weight_map?: Record<string, string> };
		if (typeof parsed.weight_map !== "object" || parsed.weight_map === null) {
			throw new Error(`${index} has no weight_map`);
		}
		return [...new Set(Object.values(parsed.weight_map))].map((file) => join(dir, file));
	}
	const single = join(dir, "model.safetensors");
	if (existsSync(single)) {
		return [single];
	}
	throw new Error(`${dir} has no model.safetensors or model.safetensors.index.json`);
}
