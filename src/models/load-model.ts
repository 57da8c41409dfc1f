import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ModelReference } from "../recipe/recipe.js";
import type { TensorInfo } from "../safetensors/parse-header.js";
import { SafetensorsFile } from "../safetensors/safetensors-file.js";
import { downloadHubModel, type HubAccess } from "./download-hub-model.js";
import { findCachedSnapshot, hubCacheDir, isOffline } from "./hf-cache.js";
import { ModelError } from "./model-error.js";
import { readCardLicense } from "./read-card-license.js";

export interface ModelSourceOptions {
	cacheDir?: string;
	offline?: boolean;
	hub?: HubAccess;
}

/** A model's tensor as stored: which file holds it and where. */
export interface StoredTensor extends TensorInfo {
	file: string;
}

/** A model opened for merging: its folder, config, every tensor's header entry; no weights read yet. */
export interface LoadedModel {
	reference: ModelReference;
	dir: string;
	origin: "local" | "cache" | "hub";
	/** The commit the reference resolved to, for Hub and cache references. */
	commit: string | undefined;
	config: Record<string, unknown>;
	tensors: ReadonlyMap<string, StoredTensor>;
	/** The licence in the model's card front matter, if any. */
	license: string | undefined;
}

/**
 * Finds a model in order: a local folder, the Hugging Face cache, then the Hub (downloading into the cache).
 * `HF_HUB_OFFLINE=1` stops at the cache.
 */
export async function loadModel(reference: ModelReference, options: ModelSourceOptions = {}): Promise<LoadedModel> {
	const name = reference.key;
	if (reference.lora) {
		throw new ModelError(
			name,
			"LoRA references (`model+adapter`) are not supported yet; merge the adapter into the model first and reference the merged folder",
			reference.span,
		);
	}
	const { path, revision } = reference.model;
	let dir: string;
	let origin: LoadedModel["origin"];
	let commit: string | undefined;
	let license: string | undefined;
	if (existsSync(path) && statSync(path).isDirectory()) {
		dir = path;
		origin = "local";
	} else {
		if (!/^[\w.-]+(\/[\w.-]+)?$/.test(path)) {
			throw new ModelError(name, `no folder ${path} exists, and it is not a Hub repo id (owner/name)`, reference.span);
		}
		const cacheDir = options.cacheDir ?? hubCacheDir();
		const cached = findCachedSnapshot(cacheDir, path, revision);
		if (cached) {
			dir = cached.dir;
			commit = cached.commit;
			origin = "cache";
		} else if (options.offline ?? isOffline()) {
			throw new ModelError(
				name,
				`not found locally or in the Hugging Face cache (${cacheDir}) at revision ${revision ?? "main"}, and HF_HUB_OFFLINE is set; download it first or unset HF_HUB_OFFLINE`,
				reference.span,
			);
		} else {
			const downloaded = await downloadHubModel({ repoId: path, revision, cacheDir, access: options.hub ?? {} });
			dir = downloaded.dir;
			commit = downloaded.commit;
			license = downloaded.license;
			origin = "hub";
		}
	}
	const config = await readConfig(reference, dir);
	const tensors = await readTensorIndex(reference, dir);
	return { reference, dir, origin, commit, config, tensors, license: license ?? (await readCardLicense(dir)) };
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
	try {
		const config: unknown = JSON.parse(await readFile(file, "utf8"));
		if (typeof config !== "object" || config === null || Array.isArray(config)) {
			throw new Error("not a JSON object");
		}
		return config as Record<string, unknown>;
	} catch (error) {
		throw new ModelError(reference.key, `${file} is not valid JSON (${(error as Error).message})`, reference.span);
	}
}

async function readTensorIndex(reference: ModelReference, dir: string): Promise<Map<string, StoredTensor>> {
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
