import type { ModelReference } from "../recipe/recipe.js";
import { type LoadedModel, loadModel, type ModelSourceOptions } from "./load-model.js";

/** Hub models read at once; each is a handful of small requests, so this is about latency, not bandwidth. */
const CONCURRENCY = 8;

/**
 * Opens every referenced model from configs and safetensors headers only (local folders and the cache from disk,
 * Hub references from metadata, see `preflightHubModel`), several at a time, so that a recipe of Hub models is
 * checked in seconds before any weights are downloaded. When several fail, the first in recipe order is thrown.
 */
export async function preflightModels(
	references: readonly ModelReference[],
	options: ModelSourceOptions = {},
): Promise<Map<string, LoadedModel>> {
	const results: PromiseSettledResult<LoadedModel>[] = new Array(references.length);
	let next = 0;
	const worker = async (): Promise<void> => {
		for (let index = next++; index < references.length; index = next++) {
			try {
				results[index] = { status: "fulfilled", value: await loadModel(references[index] as ModelReference, options) };
			} catch (reason) {
				results[index] = { status: "rejected", reason };
			}
		}
	};
	await Promise.all(Array.from({ length: Math.min(CONCURRENCY, references.length) }, worker));
	const loaded = new Map<string, LoadedModel>();
	for (const [index, result] of results.entries()) {
		if (result.status === "rejected") {
			throw result.reason;
		}
		loaded.set((references[index] as ModelReference).key, result.value);
	}
	return loaded;
}
