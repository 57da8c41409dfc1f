import { downloadToCacheDir } from "../hub/download-to-cache-dir.js";
import { hubCacheDir } from "../models/hf-cache.js";
import type { LoadedModel, ModelSourceOptions } from "../models/load-model.js";

/** What planning a tokenizer merge reads from a model; small files, fetched before any weights. */
const TOKENIZER_INPUTS = new Set(["tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "tokenizer.model"]);

/**
 * Downloads a Hub model's tokenizer files into its cache snapshot now, where the cache lacks them, so that the plan
 * can read them; the weights still come after planning. Nothing happens for local and cached models.
 */
export async function fetchTokenizerFiles(model: LoadedModel, options: ModelSourceOptions): Promise<void> {
	const { hub, commit } = model;
	if (hub === undefined || commit === undefined) {
		return;
	}
	for (const file of hub.pending) {
		if (!TOKENIZER_INPUTS.has(file.path)) {
			continue;
		}
		await downloadToCacheDir({
			...(options.hub ?? {}),
			repoId: hub.repoId,
			path: file.path,
			commit,
			cacheDir: options.cacheDir ?? hubCacheDir(),
			size: file.size,
			oid: file.oid,
			...(file.sha256 === undefined ? {} : { sha256: file.sha256 }),
		});
	}
}
