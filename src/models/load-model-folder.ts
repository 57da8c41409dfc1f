import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ModelReference } from "../recipe/recipe.js";
import { SafetensorsFile } from "../safetensors/safetensors-file.js";
import type { LoadedModel, StoredTensor } from "./load-model.js";
import { ModelError } from "./model-error.js";
import { readCardLicense } from "./read-card-license.js";

/**
 * Opens a model folder on disk (a local folder or a cache snapshot): config.json and every tensor's header entry,
 * no weights. `license` from the Hub's card data wins over the folder's README.md.
 */
export async function loadModelFolder(
	reference: ModelReference,
	dir: string,
	source: { origin: LoadedModel["origin"]; commit: string | undefined; license?: string | undefined },
): Promise<LoadedModel> {
	const config = await readConfig(reference, dir);
	const tensors = await readTensorIndex(reference, dir);
	return {
		reference,
		dir,
		origin: source.origin,
		commit: source.commit,
		config,
		tensors,
		license: source.license ?? (await readCardLicense(dir)),
	};
}

/** Parses a config.json's text, which must hold a JSON object. */
export function parseConfig(reference: ModelReference, file: string, text: string): Record<string, unknown> {
	try {
		const config: unknown = JSON.parse(text);
		if (typeof config !== "object" || config === null || Array.isArray(config)) {
			throw new Error("not a JSON object");
		}
		return config as Record<string, unknown>;
	} catch (error) {
		throw new ModelError(reference.key, `${file} is not valid JSON (${(error as Error).message})`, reference.span);
	}
}

async function readConfig(reference: ModelReference, dir: string): Promise<Record<string, unknown>> {
	const file = join(dir, "config.json");
	if (!existsSync(file)) {
		throw new ModelError(
			reference.key,
			`${dir} has no config.json; a merge input must be a transformers model folder`,
			reference.span,
		);
	}
	return parseConfig(reference, file, await readFile(file, "utf8"));
}

/** Every tensor of the folder's safetensors files, read from their headers. */
export async function readTensorIndex(reference: ModelReference, dir: string): Promise<Map<string, StoredTensor>> {
	const indexFile = join(dir, "model.safetensors.index.json");
	let files: string[];
	if (existsSync(indexFile)) {
		const index = JSON.parse(await readFile(indexFile, "utf8")) as { weight_map?: Record<string, string> };
		if (typeof index.weight_map !== "object" || index.weight_map === null) {
			throw new ModelError(reference.key, `${indexFile} has no weight_map`, reference.span);
		}
		files = [...new Set(Object.values(index.weight_map))];
	} else if (existsSync(join(dir, "model.safetensors"))) {
		files = ["model.safetensors"];
	} else if (existsSync(join(dir, "pytorch_model.bin")) || existsSync(join(dir, "pytorch_model.bin.index.json"))) {
		throw new ModelError(
			reference.key,
			`${dir} has only pickled PyTorch weights (pytorch_model.bin). mergesmith reads safetensors only, because unpickling can run arbitrary code; convert the model to safetensors (or use a revision that has them)`,
			reference.span,
		);
	} else {
		throw new ModelError(
			reference.key,
			`${dir} has no model.safetensors or model.safetensors.index.json`,
			reference.span,
		);
	}
	const tensors = new Map<string, StoredTensor>();
	for (const fileName of files) {
		const path = join(dir, fileName);
		if (!existsSync(path)) {
			throw new ModelError(
				reference.key,
				`the weight index names ${fileName}, which is missing from ${dir}`,
				reference.span,
			);
		}
		const file = await SafetensorsFile.open(path);
		try {
			for (const [name, info] of file.tensors) {
				tensors.set(name, { ...info, file: path });
			}
		} finally {
			await file.close();
		}
	}
	return tensors;
}
