import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
	downloadFile,
	HubApiError as LibraryApiError,
	type ListFileEntry,
	listFiles,
	modelInfo,
	parseSafetensorsMetadata,
} from "@huggingface/hub";
import { HubApiError } from "../hub/hub-api-error.js";
import { DEFAULT_HUB_URL, type HubParams } from "../hub/hub-params.js";
import { CARRIED_FILES } from "../publish/write-model-files.js";
import type { ModelReference } from "../recipe/recipe.js";
import { parseHeader } from "../safetensors/parse-header.js";
import { repoCacheDir, writeCacheRef } from "./hf-cache.js";
import type { LoadedModel, RemoteFile, StoredTensor } from "./load-model.js";
import { parseConfig, readTensorIndex } from "./load-model-folder.js";
import { ModelError } from "./model-error.js";

const INDEX = "model.safetensors.index.json";
const SINGLE = "model.safetensors";

interface Context {
	reference: ModelReference;
	repoId: string;
	revision: string | undefined;
	hub: HubParams;
	hubUrl: string;
	gated: false | "auto" | "manual";
	commit: string | undefined;
}

/**
 * Reads a Hub model from metadata only, in a few requests and no weights: resolves the reference to a commit
 * (`modelInfo`), checks that it exists and can be read (a sentence per failure: missing, private, gated, bad
 * revision, bad token), lists its files, and reads config.json and the safetensors headers (`parseSafetensorsMetadata`)
 * into a `LoadedModel` whose tensors point where the files will lie in the cache. Whatever of that commit the cache
 * already holds is read from disk instead, and `hub.pending` names what is still to be downloaded.
 */
export async function preflightHubModel(
	reference: ModelReference,
	options: { cacheDir: string; hub: HubParams },
): Promise<LoadedModel> {
	const repoId = reference.model.path;
	const { hub } = options;
	const context: Context = {
		reference,
		repoId,
		revision: reference.model.revision,
		hub,
		hubUrl: (hub.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, ""),
		gated: false,
		commit: undefined,
	};
	const fail = (message: string): ModelError => new ModelError(reference.key, message, reference.span);
	let info: Awaited<ReturnType<typeof modelInfo<"sha" | "cardData">>>;
	try {
		info = await modelInfo({
			name: repoId,
			additionalFields: ["sha", "cardData"],
			...(context.revision === undefined ? {} : { revision: context.revision }),
			...hub,
		});
	} catch (error) {
		throw fail(await explainRepoError(error, context));
	}
	const commit = info.sha;
	if (typeof commit !== "string" || !/^[0-9a-f]{40}$/.test(commit)) {
		throw fail(`the Hub (${context.hubUrl}) gave no commit for revision ${context.revision ?? "main"}`);
	}
	context.commit = commit;
	context.gated = info.gated ?? false;
	const cardLicense = (info.cardData as { license?: unknown } | undefined)?.license;
	const license = typeof cardLicense === "string" ? cardLicense : undefined;
	if (context.gated !== false && hub.accessToken === undefined) {
		throw fail(gatedMessage(context));
	}
	const dir = join(repoCacheDir(options.cacheDir, repoId), "snapshots", commit);
	const read = async <T>(what: string, action: () => Promise<T>): Promise<T> => {
		try {
			return await action();
		} catch (error) {
			throw error instanceof ModelError ? error : fail(explainFileError(error, what, context));
		}
	};
	const remoteText = async (path: string): Promise<string> => {
		const blob = await downloadFile({ repo: { type: "model", name: repoId }, path, revision: commit, ...hub });
		if (!blob) {
			throw fail(`${path} is missing from ${repoId} at commit ${commit}`);
		}
		return blob.text();
	};
	const localText = (path: string): Promise<string> | undefined =>
		existsSync(join(dir, path)) ? readFile(join(dir, path), "utf8") : undefined;
	// The file list and config.json do not depend on each other: fetch them together.
	const [entries, configText] = await Promise.all([
		read("the file list", async () => {
			const found = new Map<string, ListFileEntry>();
			for await (const entry of listFiles({ repo: { type: "model", name: repoId }, revision: commit, ...hub })) {
				if (entry.type === "file") {
					found.set(entry.path, entry);
				}
			}
			return found;
		}),
		localText("config.json") ?? read("config.json", () => remoteText("config.json")),
	]);
	const config = parseConfig(reference, `${repoId}/config.json`, configText);
	const shards = await read(INDEX, () => weightFiles(entries, context, localText, remoteText, fail));
	const files: RemoteFile[] = [];
	for (const path of new Set([
		"config.json",
		"README.md",
		...(entries.has(INDEX) ? [INDEX] : []),
		...shards,
		...CARRIED_FILES,
	])) {
		const entry = entries.get(path);
		if (entry) {
			files.push({ path, size: entry.size, oid: entry.oid ?? "", sha256: entry.lfs?.oid });
		}
	}
	const cached = (file: RemoteFile): boolean => sizeOf(join(dir, file.path)) === file.size;
	const pending = files.filter((file) => !cached(file));
	const blobsDir = join(repoCacheDir(options.cacheDir, repoId), "blobs");
	// A blob already cached under another commit costs nothing, and an interrupted download only its remainder.
	const pendingBytes = pending
		.filter((file) => sizeOf(join(blobsDir, file.sha256 ?? file.oid)) !== file.size)
		.reduce((sum, file) => {
			const partial = sizeOf(join(blobsDir, `${file.sha256 ?? file.oid}.incomplete`)) ?? 0;
			return sum + file.size - (partial <= file.size ? partial : 0);
		}, 0);
	let tensors: Map<string, StoredTensor>;
	if (shards.every((shard) => pending.every((file) => file.path !== shard))) {
		tensors = await readTensorIndex(reference, dir);
	} else {
		tensors = new Map();
		const headers = await Promise.all(
			shards.map((shard) => read(shard, () => remoteHeader(shard, entries.get(shard)?.size ?? 0, dir, context))),
		);
		for (const header of headers) {
			for (const [name, tensor] of header) {
				tensors.set(name, tensor);
			}
		}
	}
	if (pending.length === 0) {
		writeCacheRef(options.cacheDir, repoId, context.revision ?? "main", commit);
	}
	return {
		reference,
		dir,
		origin: pending.length === 0 ? "cache" : "hub",
		commit,
		config,
		tensors,
		license,
		hub: {
			repoId,
			revision: context.revision,
			private: info.private,
			gated: context.gated,
			files,
			pending,
			pendingBytes,
		},
	};
}

/** The safetensors files a model's weights are in: the shards its index names, or model.safetensors. */
async function weightFiles(
	entries: ReadonlyMap<string, ListFileEntry>,
	context: Context,
	localText: (path: string) => Promise<string> | undefined,
	remoteText: (path: string) => Promise<string>,
	fail: (message: string) => ModelError,
): Promise<string[]> {
	const at = `${context.repoId} at commit ${context.commit}`;
	if (entries.has(INDEX)) {
		const text = await (localText(INDEX) ?? remoteText(INDEX));
		let weightMap: unknown;
		try {
			weightMap = (JSON.parse(text) as { weight_map?: unknown }).weight_map;
		} catch (error) {
			throw fail(`${INDEX} of ${at} is not valid JSON (${(error as Error).message})`);
		}
		if (typeof weightMap !== "object" || weightMap === null) {
			throw fail(`${INDEX} of ${at} has no weight_map`);
		}
		const shards = [...new Set(Object.values(weightMap))].filter((shard) => typeof shard === "string");
		const missing = shards.filter((shard) => !entries.has(shard));
		if (missing.length > 0) {
			throw fail(
				`the weight index names ${missing.join(", ")}, which ${missing.length === 1 ? "is" : "are"} missing from ${at}`,
			);
		}
		return shards;
	}
	if (entries.has(SINGLE)) {
		return [SINGLE];
	}
	if ([...entries.keys()].some((path) => /^pytorch_model.*\.bin(\.index\.json)?$/.test(path))) {
		throw fail(
			`${at} has only pickled PyTorch weights (pytorch_model.bin). mergesmith reads safetensors only, because unpickling can run arbitrary code; use a revision that has safetensors weights`,
		);
	}
	throw fail(`${at} has no ${SINGLE} or ${INDEX}`);
}

/** One shard's tensors from its header on the Hub (three small range requests), placed as the cached file will be. */
async function remoteHeader(
	shard: string,
	size: number,
	dir: string,
	context: Context,
): Promise<Map<string, StoredTensor>> {
	const parsed = await parseSafetensorsMetadata({
		repo: { type: "model", name: context.repoId },
		path: shard,
		...(context.commit === undefined ? {} : { revision: context.commit }),
		...context.hub,
	});
	if (parsed.sharded) {
		throw new Error(`${shard} was read as an index`);
	}
	// The library does not return the header's length; a valid file's data section ends at its last tensor's end.
	let dataLength = 0;
	for (const [name, entry] of Object.entries(parsed.header)) {
		if (name !== "__metadata__") {
			dataLength = Math.max(dataLength, (entry as { data_offsets: [number, number] }).data_offsets[1]);
		}
	}
	const file = join(dir, shard);
	const header = parseHeader(file, JSON.stringify(parsed.header), size - 8 - dataLength, size);
	const tensors = new Map<string, StoredTensor>();
	for (const [name, info] of header.tensors) {
		tensors.set(name, { ...info, file });
	}
	return tensors;
}

function sizeOf(path: string): number | undefined {
	try {
		return statSync(path).size;
	} catch {
		return undefined;
	}
}

/** Status and message of an HTTP failure, from our HubApiError or the library's. */
function httpFailure(error: unknown): { status: number; message: string; code: string | undefined } | undefined {
	if (error instanceof HubApiError) {
		return { status: error.status, message: error.message, code: error.errorCode };
	}
	if (error instanceof LibraryApiError) {
		return { status: error.statusCode, message: error.message, code: undefined };
	}
	return undefined;
}

function gatedMessage(context: Context): string {
	return `gated: accept the licence at ${context.hubUrl}/${context.repoId} and set HF_TOKEN to a token of the account that accepted it`;
}

function otherFailure(error: unknown, context: Context, what: string): string {
	const message = error instanceof Error ? error.message : String(error);
	if (error instanceof TypeError && message.includes("must start with 'hf_'")) {
		return "HF_TOKEN is not a Hugging Face token (those start with hf_)";
	}
	if (error instanceof TypeError && message === "fetch failed") {
		const cause = (error as { cause?: unknown }).cause;
		return `cannot reach the Hub at ${context.hubUrl} (${cause instanceof Error ? cause.message : "network error"}); check the connection and HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use the cache only`;
	}
	return `reading ${what} failed: ${message}`;
}

async function explainRepoError(error: unknown, context: Context): Promise<string> {
	const failure = httpFailure(error);
	if (!failure) {
		return otherFailure(error, context, "the model's information");
	}
	const hasToken = context.hub.accessToken !== undefined;
	switch (failure.status) {
		case 401:
			return hasToken
				? `the Hub (${context.hubUrl}) refused HF_TOKEN (401): the token is invalid, expired or revoked`
				: `not found on the Hub (${context.hubUrl}), or private: without a token the Hub answers 401 for both; check the name, or set HF_TOKEN to a token that can read it`;
		case 404: {
			if (context.revision !== undefined && (failure.code === "RevisionNotFound" || (await repoIsReadable(context)))) {
				return `revision ${context.revision} does not exist (it is no branch, tag or commit of ${context.repoId}); see ${context.hubUrl}/${context.repoId}/tree/main`;
			}
			return hasToken
				? `not found on the Hub (${context.hubUrl}), or private and the account of HF_TOKEN cannot read it (404); check the name and the token's access`
				: `not found on the Hub (${context.hubUrl}) (404); check the name`;
		}
		case 403:
			return `HF_TOKEN may not read this repo (403: ${failure.message})`;
		default:
			return `the Hub answered ${failure.status}: ${failure.message}`;
	}
}

/** Whether the repo itself answers at its default branch: tells a bad revision from a missing repo. */
async function repoIsReadable(context: Context): Promise<boolean> {
	try {
		await modelInfo({ name: context.repoId, ...context.hub });
		return true;
	} catch {
		return false;
	}
}

function explainFileError(error: unknown, what: string, context: Context): string {
	const failure = httpFailure(error);
	if (!failure) {
		return otherFailure(error, context, what);
	}
	const hasToken = context.hub.accessToken !== undefined;
	const gated = context.gated !== false || failure.code === "GatedRepo";
	if (gated && failure.status === 403) {
		return `gated, and the account of HF_TOKEN has not been granted access: accept the licence at ${context.hubUrl}/${context.repoId} (the authors may have to approve the request), then run again`;
	}
	if (gated && failure.status === 401) {
		return hasToken
			? `gated, and the Hub refused HF_TOKEN (401): the token is invalid, expired or revoked`
			: gatedMessage(context);
	}
	switch (failure.status) {
		case 401:
			return hasToken
				? `the Hub (${context.hubUrl}) refused HF_TOKEN when reading ${what} (401): the token is invalid, expired or revoked`
				: `the Hub refused to serve ${what} without a token (401); set HF_TOKEN to a token that can read it`;
		case 403:
			return `HF_TOKEN may not read ${what} (403: ${failure.message})`;
		case 404:
			return `${what} is missing from ${context.repoId} at commit ${context.commit} (404: ${failure.message})`;
		default:
			return `reading ${what} failed: the Hub answered ${failure.status}: ${failure.message}`;
	}
}
