import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { downloadFile, type ListFileEntry, listFiles, modelInfo } from "@huggingface/hub";
import { downloadToCacheDir } from "../hub/download-to-cache-dir.js";
import type { HubParams } from "../hub/hub-params.js";
import type { ModelPath, ModelReference } from "../recipe/recipe.js";
import { repoCacheDir, writeCacheRef } from "./hf-cache.js";
import type { LoadedAdapter } from "./lora-adapter.js";
import { ModelError } from "./model-error.js";
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, checkAdapterConfig, readAdapterFolder } from "./read-adapter-folder.js";

/**
 * A Hub adapter: resolves its revision to a commit, reads adapter_config.json (from the cache when it has that
 * commit) and refuses an adapter mergesmith cannot apply before anything else is fetched. Only then are the adapter's
 * weights (tens or hundreds of megabytes) and card downloaded into the cache, resumably and checked.
 */
export async function loadHubAdapter(
	reference: ModelReference,
	lora: ModelPath,
	options: { cacheDir: string; hub: HubParams },
): Promise<LoadedAdapter> {
	const repoId = lora.path;
	const fail = (message: string): ModelError =>
		new ModelError(reference.key, `LoRA adapter ${repoId}: ${message}`, reference.span);
	const hub = options.hub;
	const attempt = async <T>(what: string, action: () => Promise<T>): Promise<T> => {
		try {
			return await action();
		} catch (error) {
			if (error instanceof ModelError) {
				throw error;
			}
			throw fail(`reading ${what} from the Hub failed: ${(error as Error).message}`);
		}
	};
	const info = await attempt("the repo's information", () =>
		modelInfo({
			name: repoId,
			additionalFields: ["sha", "cardData"],
			...(lora.revision === undefined ? {} : { revision: lora.revision }),
			...hub,
		}),
	);
	const commit = info.sha;
	if (typeof commit !== "string" || !/^[0-9a-f]{40}$/.test(commit)) {
		throw fail(`the Hub gave no commit for revision ${lora.revision ?? "main"}`);
	}
	const entries = await attempt("the file list", async () => {
		const found = new Map<string, ListFileEntry>();
		for await (const entry of listFiles({ repo: { type: "model", name: repoId }, revision: commit, ...hub })) {
			if (entry.type === "file") {
				found.set(entry.path, entry);
			}
		}
		return found;
	});
	if (!entries.has(ADAPTER_CONFIG)) {
		throw fail(
			entries.has("config.json")
				? `it is a whole model, not a PEFT adapter (it has config.json but no ${ADAPTER_CONFIG}); list it as a model of its own instead of after \`+\``
				: `it has no ${ADAPTER_CONFIG} at commit ${commit}; the part after \`+\` must be a PEFT LoRA adapter`,
		);
	}
	const dir = join(repoCacheDir(options.cacheDir, repoId), "snapshots", commit);
	const configText = existsSync(join(dir, ADAPTER_CONFIG))
		? await readFile(join(dir, ADAPTER_CONFIG), "utf8")
		: await attempt(ADAPTER_CONFIG, async () => {
				const blob = await downloadFile({
					repo: { type: "model", name: repoId },
					path: ADAPTER_CONFIG,
					revision: commit,
					...hub,
				});
				if (!blob) {
					throw fail(`${ADAPTER_CONFIG} is missing at commit ${commit}`);
				}
				return blob.text();
			});
	checkAdapterConfig(configText, fail);
	if (!entries.has(ADAPTER_WEIGHTS)) {
		throw fail(
			entries.has("adapter_model.bin")
				? "it has only pickled weights (adapter_model.bin). mergesmith reads safetensors only, because unpickling can run arbitrary code"
				: `it has no ${ADAPTER_WEIGHTS} at commit ${commit}`,
		);
	}
	let fetched = 0;
	for (const path of [ADAPTER_CONFIG, ADAPTER_WEIGHTS, "README.md"]) {
		const entry = entries.get(path);
		if (!entry) {
			continue;
		}
		const result = await attempt(path, () =>
			downloadToCacheDir({
				repoId,
				path,
				commit,
				cacheDir: options.cacheDir,
				size: entry.size,
				oid: entry.oid ?? "",
				...(entry.lfs?.oid === undefined ? {} : { sha256: entry.lfs.oid }),
				...hub,
			}),
		);
		fetched += result.fetched;
	}
	writeCacheRef(options.cacheDir, repoId, lora.revision ?? "main", commit);
	const cardLicense = (info.cardData as { license?: unknown } | undefined)?.license;
	return readAdapterFolder(reference, lora, dir, {
		origin: fetched > 0 ? "hub" : "cache",
		commit,
		...(typeof cardLicense === "string" ? { license: cardLicense } : {}),
	});
}
