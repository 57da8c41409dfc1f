import { existsSync, statSync } from "node:fs";
import type { HubParams } from "../hub/hub-params.js";
import type { ModelReference } from "../recipe/recipe.js";
import { stageReferenceName } from "../recipe/stage-reference-name.js";
import type { TensorInfo } from "../safetensors/parse-header.js";
import { attachAdapter } from "./attach-adapter.js";
import { findCachedSnapshot, hubCacheDir, isCompleteSnapshot, isOffline } from "./hf-cache.js";
import { isHubRepoId } from "./is-hub-repo-id.js";
import { loadAdapter } from "./load-adapter.js";
import { loadModelFolder } from "./load-model-folder.js";
import type { AttachedAdapter } from "./lora-adapter.js";
import { ModelError } from "./model-error.js";
import { preflightHubModel } from "./preflight-hub-model.js";

export interface ModelSourceOptions {
	cacheDir?: string;
	offline?: boolean;
	hub?: HubParams;
	/**
	 * Never open local folders: the bot merges recipes from strangers, and a path in one must not read the bot's
	 * own disk. References must then be Hub repo ids.
	 */
	hubOnly?: boolean;
	/** Multi-stage recipes: how a reference to an earlier stage (by its name) is opened. */
	stages?: ReadonlyMap<string, (reference: ModelReference) => Promise<LoadedModel>>;
}

/** A model's tensor as stored: which file holds it and where. */
export interface StoredTensor extends TensorInfo {
	file: string;
}

/** One file of a Hub repo, as the tree listing gives it. */
export interface RemoteFile {
	path: string;
	size: number;
	/** Git blob sha1 (of the LFS pointer for LFS files). */
	oid: string;
	/** LFS files: the content's sha256, which the Hub also sends as `X-Linked-Etag`. */
	sha256: string | undefined;
}

/** Where a Hub model comes from and what of it the cache still lacks. */
export interface HubSource {
	repoId: string;
	/** The revision the recipe asked for (undefined: the default branch). */
	revision: string | undefined;
	private: boolean;
	gated: false | "auto" | "manual";
	/** Every file a merge reads or carries over. */
	files: RemoteFile[];
	/** Those of `files` not yet in the cache, fetched by `downloadHubModels` before the merge. */
	pending: RemoteFile[];
	/** Bytes of `pending` that must come over the network (a blob already cached under another commit is free). */
	pendingBytes: number;
}

/** A model opened for merging: its folder, config, every tensor's header entry; no weights read yet. */
export interface LoadedModel {
	reference: ModelReference;
	dir: string;
	origin: "local" | "cache" | "hub";
	/** The commit the reference resolved to, for Hub and cache references. */
	commit: string | undefined;
	config: Record<string, unknown>;
	/**
	 * Every tensor's header entry. For a Hub model still to be downloaded these come from the Hub's headers and
	 * point at the files as they will lie in the cache (`dir`).
	 */
	tensors: ReadonlyMap<string, StoredTensor>;
	/** The licence in the model's card front matter, if any. */
	license: string | undefined;
	/** Hub models read from metadata (origin `hub`): the repo and what must still be downloaded. */
	hub?: HubSource;
	/** `model+adapter` references: the LoRA adapter applied to each tensor as it is read. */
	adapter?: AttachedAdapter;
	/** Set when the model is the output of an earlier stage of a multi-stage recipe: that stage's name. */
	stage?: string;
}

/**
 * Finds a model in order: a local folder; with `HF_HUB_OFFLINE=1` the Hugging Face cache only; otherwise the Hub,
 * which resolves the reference to a commit and is read from metadata only (config.json and safetensors headers),
 * using whatever of that commit the cache already has. Nothing is downloaded here: see `downloadHubModels`.
 */
export async function loadModel(reference: ModelReference, options: ModelSourceOptions = {}): Promise<LoadedModel> {
	const name = reference.key;
	if (reference.lora) {
		// The adapter first: one mergesmith cannot apply is refused before the model is looked up.
		const adapter = await loadAdapter(reference, options);
		const model = await loadModel({ ...reference, lora: undefined }, options);
		return attachAdapter({ ...model, reference }, adapter);
	}
	const { path, revision } = reference.model;
	const stage = options.stages?.get(stageReferenceName(path));
	if (stage) {
		return stage(reference);
	}
	if (options.hubOnly && !isHubRepoId(path)) {
		throw new ModelError(name, "is not a Hub repo id (owner/name); only Hub models can be merged here", reference.span);
	}
	if (!options.hubOnly && existsSync(path) && statSync(path).isDirectory()) {
		return loadModelFolder(reference, path, { origin: "local", commit: undefined });
	}
	if (!/^[\w.-]+(\/[\w.-]+)?$/.test(path)) {
		throw new ModelError(name, `no folder ${path} exists, and it is not a Hub repo id (owner/name)`, reference.span);
	}
	const cacheDir = options.cacheDir ?? hubCacheDir();
	if (options.offline ?? isOffline()) {
		const cached = findCachedSnapshot(cacheDir, path, revision);
		if (cached && isCompleteSnapshot(cached.dir)) {
			return loadModelFolder(reference, cached.dir, { origin: "cache", commit: cached.commit });
		}
		throw new ModelError(
			name,
			cached
				? `the Hugging Face cache (${cacheDir}) has revision ${revision ?? "main"} only in part (${cached.dir}; an interrupted download?), and HF_HUB_OFFLINE is set; unset HF_HUB_OFFLINE to finish the download`
				: `not found locally or in the Hugging Face cache (${cacheDir}) at revision ${revision ?? "main"}, and HF_HUB_OFFLINE is set; download it first or unset HF_HUB_OFFLINE`,
			reference.span,
		);
	}
	return preflightHubModel(reference, { cacheDir, hub: options.hub ?? {} });
}
