import { existsSync, statSync } from "node:fs";
import { downloadFileToCacheDir, listFiles } from "@huggingface/hub";
import { findCachedSnapshot, hubCacheDir, isOffline } from "../models/hf-cache.js";
import type { ModelSourceOptions } from "../models/load-model.js";
import { ModelError } from "../models/model-error.js";
import type { ModelReference } from "../recipe/recipe.js";

/** The files a tokenizer donor contributes; weights are not needed from a model that only gives its tokenizer. */
const TOKENIZER_FILES =
	/^(tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|tokenizer\.model|added_tokens\.json|merges\.txt|vocab\.json|chat_template\.jinja|chat_template\.json|generation_config\.json|config\.json)$/;

/**
 * The folder holding the tokenizer of a model that is not merged (a `tokenizer_source` outside the recipe's models):
 * a local folder, the Hugging Face cache, or the Hub, from which only its tokenizer files are downloaded.
 */
export async function locateTokenizerModel(reference: ModelReference, options: ModelSourceOptions): Promise<string> {
	const { path, revision } = reference.model;
	if (existsSync(path) && statSync(path).isDirectory()) {
		return path;
	}
	if (!/^[\w.-]+(\/[\w.-]+)?$/.test(path)) {
		throw new ModelError(
			reference.key,
			`no folder ${path} exists, and it is not a Hub repo id (owner/name)`,
			reference.span,
		);
	}
	const cacheDir = options.cacheDir ?? hubCacheDir();
	const cached = findCachedSnapshot(cacheDir, path, revision);
	if (cached) {
		return cached.dir;
	}
	if (options.offline ?? isOffline()) {
		throw new ModelError(
			reference.key,
			`the tokenizer source is not found locally or in the Hugging Face cache (${cacheDir}), and HF_HUB_OFFLINE is set`,
			reference.span,
		);
	}
	const access = options.hub ?? {};
	const credentials = {
		...(access.hubUrl ? { hubUrl: access.hubUrl } : {}),
		...(access.accessToken ? { accessToken: access.accessToken } : {}),
		...(access.fetch ? { fetch: access.fetch } : {}),
	};
	const repo = { type: "model" as const, name: path };
	let dir: string | undefined;
	for await (const entry of listFiles({ repo, ...(revision ? { revision } : {}), ...credentials })) {
		if (entry.type === "file" && TOKENIZER_FILES.test(entry.path)) {
			const local = await downloadFileToCacheDir({
				repo,
				path: entry.path,
				...(revision ? { revision } : {}),
				cacheDir,
				...credentials,
			});
			dir = local.slice(0, local.length - entry.path.length - 1);
		}
	}
	if (dir === undefined) {
		throw new ModelError(reference.key, "the tokenizer source has no tokenizer files on the Hub", reference.span);
	}
	return dir;
}
