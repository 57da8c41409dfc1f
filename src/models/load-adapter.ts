import { existsSync, statSync } from "node:fs";
import type { ModelReference } from "../recipe/recipe.js";
import { findCachedSnapshot, hubCacheDir, isOffline } from "./hf-cache.js";
import { isHubRepoId } from "./is-hub-repo-id.js";
import { loadHubAdapter } from "./load-hub-adapter.js";
import type { ModelSourceOptions } from "./load-model.js";
import type { LoadedAdapter } from "./lora-adapter.js";
import { ModelError } from "./model-error.js";
import { ADAPTER_CONFIG, readAdapterFolder } from "./read-adapter-folder.js";

/**
 * Finds the LoRA adapter of a `model+adapter` reference as a model is found: a local folder; with
 * `HF_HUB_OFFLINE=1` the Hugging Face cache only; otherwise the Hub, resolved to a commit.
 */
export async function loadAdapter(reference: ModelReference, options: ModelSourceOptions = {}): Promise<LoadedAdapter> {
	const lora = reference.lora;
	if (lora === undefined) {
		throw new Error(`${reference.key} has no LoRA adapter`);
	}
	const { path, revision } = lora;
	if (options.hubOnly && !isHubRepoId(path)) {
		throw new ModelError(
			reference.key,
			`LoRA adapter ${path} is not a Hub repo id (owner/name); only Hub adapters can be used here`,
			reference.span,
		);
	}
	if (!options.hubOnly && existsSync(path) && statSync(path).isDirectory()) {
		return readAdapterFolder(reference, lora, path, { origin: "local", commit: undefined });
	}
	if (!/^[\w.-]+(\/[\w.-]+)?$/.test(path)) {
		throw new ModelError(
			reference.key,
			`LoRA adapter ${path}: no folder ${path} exists, and it is not a Hub repo id (owner/name)`,
			reference.span,
		);
	}
	const cacheDir = options.cacheDir ?? hubCacheDir();
	if (options.offline ?? isOffline()) {
		const cached = findCachedSnapshot(cacheDir, path, revision);
		if (cached && existsSync(`${cached.dir}/${ADAPTER_CONFIG}`)) {
			return readAdapterFolder(reference, lora, cached.dir, { origin: "cache", commit: cached.commit });
		}
		throw new ModelError(
			reference.key,
			`LoRA adapter ${path}: not found locally or in the Hugging Face cache (${cacheDir}) at revision ${revision ?? "main"}, and HF_HUB_OFFLINE is set; download it first or unset HF_HUB_OFFLINE`,
			reference.span,
		);
	}
	return loadHubAdapter(reference, lora, { cacheDir, hub: options.hub ?? {} });
}
