import { open } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { namespaceOf } from "./access.js";
import { lfsPointer } from "./git-objects.js";
import type { HubStore } from "./hub-store.js";
import type { StoredCommit, StoredRepo } from "./hub-types.js";

interface DerivedInfo {
	cardData: Record<string, unknown> | undefined;
	config: Record<string, unknown> | undefined;
	safetensors: { parameters: Record<string, number>; total: number } | undefined;
}

const derivedCache = new Map<string, Promise<DerivedInfo>>();
const MAX_CACHED = 500;

function frontMatter(readme: string): Record<string, unknown> | undefined {
	const match = /^---\r?\n([\s\S]*?)\r?\n---\s*(?:\r?\n|$)/.exec(readme);
	if (!match?.[1]) {
		return undefined;
	}
	try {
		const data: unknown = parseYaml(match[1]);
		return typeof data === "object" && data !== null && !Array.isArray(data)
			? (data as Record<string, unknown>)
			: undefined;
	} catch {
		return undefined;
	}
}

async function readJsonFile(store: HubStore, sha256: string): Promise<Record<string, unknown> | undefined> {
	try {
		const data: unknown = JSON.parse((await store.readObject(sha256)).toString("utf8"));
		return typeof data === "object" && data !== null && !Array.isArray(data)
			? (data as Record<string, unknown>)
			: undefined;
	} catch {
		return undefined;
	}
}

/** Parameter counts per dtype from the headers of the safetensors files, as the Hub shows them. */
async function countParameters(store: HubStore, shas: string[]): Promise<DerivedInfo["safetensors"]> {
	if (shas.length === 0) {
		return undefined;
	}
	const parameters: Record<string, number> = {};
	for (const sha256 of shas) {
		const handle = await open(store.objectPath(sha256));
		try {
			const prefix = Buffer.alloc(8);
			await handle.read(prefix, 0, 8, 0);
			const length = Number(prefix.readBigUInt64LE(0));
			if (length <= 0 || length > 100_000_000) {
				return undefined;
			}
			const header = Buffer.alloc(length);
			await handle.read(header, 0, length, 8);
			const tensors = JSON.parse(header.toString("utf8")) as Record<string, { dtype?: string; shape?: number[] }>;
			for (const [name, tensor] of Object.entries(tensors)) {
				if (name === "__metadata__" || !tensor.dtype || !tensor.shape) {
					continue;
				}
				const count = tensor.shape.reduce((product, dim) => product * dim, 1);
				parameters[tensor.dtype] = (parameters[tensor.dtype] ?? 0) + count;
			}
		} catch {
			return undefined;
		} finally {
			await handle.close();
		}
	}
	return { parameters, total: Object.values(parameters).reduce((sum, count) => sum + count, 0) };
}

function derive(store: HubStore, commit: StoredCommit): Promise<DerivedInfo> {
	const cached = derivedCache.get(commit.oid);
	if (cached) {
		return cached;
	}
	const promise = (async (): Promise<DerivedInfo> => {
		const readme = commit.files["README.md"];
		const config = commit.files["config.json"];
		const weights = Object.entries(commit.files)
			.filter(([path]) => path.endsWith(".safetensors"))
			.map(([, file]) => file.sha256);
		return {
			cardData: readme ? frontMatter((await store.readObject(readme.sha256)).toString("utf8")) : undefined,
			config: config ? await readJsonFile(store, config.sha256) : undefined,
			safetensors: await countParameters(store, weights).catch(() => undefined),
		};
	})();
	if (derivedCache.size >= MAX_CACHED) {
		derivedCache.clear();
	}
	derivedCache.set(commit.oid, promise);
	return promise;
}

function stringList(value: unknown): string[] {
	if (typeof value === "string") {
		return [value];
	}
	return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

/**
 * The repo as `GET /api/models/{id}[/revision/{rev}]` shows it (spec §4.2). With `expand`, only `_id`, `id` and the
 * requested keys, as the Hub does.
 */
export async function repoInfo(
	store: HubStore,
	repo: StoredRepo,
	commit: StoredCommit,
	options: { expand: readonly string[]; blobs: boolean },
): Promise<Record<string, unknown>> {
	const derived = await derive(store, commit);
	const cardData = derived.cardData;
	const paths = Object.keys(commit.files).sort();
	const hasConfig = derived.config !== undefined;
	const libraryName =
		typeof cardData?.library_name === "string" ? cardData.library_name : hasConfig ? "transformers" : undefined;
	const architectures = stringList(derived.config?.architectures);
	const pipelineTag =
		typeof cardData?.pipeline_tag === "string"
			? cardData.pipeline_tag
			: architectures.some((name) => name.endsWith("ForCausalLM"))
				? "text-generation"
				: undefined;
	const tags = new Set<string>();
	if (libraryName) {
		tags.add(libraryName);
	}
	if (paths.some((path) => path.endsWith(".safetensors"))) {
		tags.add("safetensors");
	}
	if (typeof derived.config?.model_type === "string") {
		tags.add(derived.config.model_type);
	}
	for (const tag of stringList(cardData?.tags)) {
		tags.add(tag);
	}
	for (const base of stringList(cardData?.base_model)) {
		tags.add(`base_model:${base}`);
	}
	for (const license of stringList(cardData?.license)) {
		tags.add(`license:${license}`);
	}
	tags.add("region:us");
	const lastModified = commit.date;
	const full: Record<string, unknown> = {
		_id: repo.id,
		id: repo.name,
		...(repo.type === "model" ? { modelId: repo.name } : {}),
		author: namespaceOf(repo.name),
		sha: commit.oid,
		lastModified,
		createdAt: repo.createdAt,
		private: repo.private,
		gated: repo.gated,
		disabled: false,
		downloads: 0,
		likes: 0,
		...(libraryName && repo.type === "model" ? { library_name: libraryName } : {}),
		...(pipelineTag && repo.type === "model" ? { pipeline_tag: pipelineTag } : {}),
		tags: [...tags],
		...(cardData ? { cardData } : {}),
		siblings: paths.map((path) => {
			const file = commit.files[path];
			if (!options.blobs || !file) {
				return { rfilename: path };
			}
			return {
				rfilename: path,
				size: file.size,
				blobId: file.oid,
				...(file.lfs
					? { lfs: { sha256: file.sha256, size: file.size, pointerSize: lfsPointer(file.sha256, file.size).length } }
					: {}),
			};
		}),
		spaces: [],
		...(derived.config && repo.type === "model"
			? {
					config: {
						...(architectures.length > 0 ? { architectures } : {}),
						...(typeof derived.config.model_type === "string" ? { model_type: derived.config.model_type } : {}),
					},
				}
			: {}),
		...(derived.safetensors ? { safetensors: derived.safetensors } : {}),
		usedStorage: Object.values(commit.files).reduce((sum, file) => sum + file.size, 0),
	};
	if (options.expand.length === 0) {
		return full;
	}
	const picked: Record<string, unknown> = { _id: repo.id, id: repo.name };
	for (const key of options.expand) {
		if (key in full) {
			picked[key] = full[key];
		}
	}
	return picked;
}
