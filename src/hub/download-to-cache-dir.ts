import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, open, rename, rm, stat, symlink } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { createApiError } from "./create-api-error.js";
import { DEFAULT_HUB_URL, type HubParams } from "./hub-params.js";

export interface DownloadToCacheParams extends HubParams {
	/** A model repo id, `ns/name`. */
	repoId: string;
	path: string;
	/** The 40-hex commit the file is read at, which names the snapshot folder. */
	commit: string;
	/** The Hugging Face cache (`HF_HUB_CACHE`). */
	cacheDir: string;
	/** Size from the tree listing; the download must end up exactly this long. */
	size: number;
	/** The git blob sha1 from the tree listing: checked for regular files, and the blob's name when not LFS. */
	oid: string;
	/** LFS files: the sha256 (the Hub's `X-Linked-Etag`), checked after the download and the blob's name. */
	sha256?: string;
	/** Bytes of this file on disk so far, called as they arrive (resumed bytes count from the start). */
	onProgress?: (bytesDone: number) => void;
	signal?: AbortSignal;
}

export interface CachedFile {
	/** `snapshots/<commit>/<path>`, a symlink into `blobs/`. */
	path: string;
	/** Bytes fetched by this call: 0 when the cache already had the file. */
	fetched: number;
	/** Where the download resumed from (bytes of an earlier `.incomplete` file). */
	resumedFrom: number;
}

/**
 * Downloads one file of a model repo into the standard Hugging Face cache layout (`blobs/<etag>` with a relative
 * symlink `snapshots/<commit>/<path>`), as the Python and JavaScript clients lay it out. Unlike
 * @huggingface/hub's `downloadFileToCacheDir` it resumes: bytes land in `blobs/<etag>.incomplete`, and a later call
 * continues from its length with a `Range` request. The result is checked against the expected size and hash before
 * it is renamed into place, so a blob in the cache is always whole.
 */
export async function downloadToCacheDir(params: DownloadToCacheParams): Promise<CachedFile> {
	checkRelativePath(params.path);
	const repoDir = join(params.cacheDir, `models--${params.repoId.replaceAll("/", "--")}`);
	const etag = params.sha256 ?? params.oid;
	const blob = join(repoDir, "blobs", etag);
	const pointer = join(repoDir, "snapshots", params.commit, ...params.path.split("/"));
	if ((await sizeOf(pointer)) === params.size) {
		return { path: pointer, fetched: 0, resumedFrom: 0 };
	}
	await mkdir(dirname(blob), { recursive: true });
	await mkdir(dirname(pointer), { recursive: true });
	if ((await sizeOf(blob)) === params.size) {
		await linkBlob(blob, pointer);
		return { path: pointer, fetched: 0, resumedFrom: 0 };
	}
	const incomplete = `${blob}.incomplete`;
	let start = (await sizeOf(incomplete)) ?? 0;
	if (start > params.size) {
		start = 0;
	}
	const newHash = (): Hash => {
		const hash = createHash(params.sha256 ? "sha256" : "sha1");
		if (!params.sha256) {
			// A git blob id hashes a header before the content.
			hash.update(`blob ${params.size}\0`);
		}
		return hash;
	};
	let hash = newHash();
	if (start > 0) {
		for await (const chunk of createReadStream(incomplete, { end: start - 1 })) {
			hash.update(chunk as Buffer);
		}
	}
	const resumedFrom = start;
	let fetched = 0;
	if (start < params.size) {
		const response = await request(params, start);
		if (start > 0 && response.status !== 206) {
			// The server ignored the Range: take the whole body from the beginning.
			start = 0;
			hash = newHash();
		}
		const handle = await open(incomplete, start > 0 ? "a" : "w");
		let done = start;
		params.onProgress?.(done);
		const reader = (response.body as ReadableStream<Uint8Array>).getReader();
		// An abort does not always end a body read that is under way (seen with undici): cancel the reader, which does.
		const cancel = (): void => {
			reader.cancel().catch(() => undefined);
		};
		params.signal?.addEventListener("abort", cancel, { once: true });
		try {
			for (;;) {
				const { done: ended, value } = await reader.read();
				if (params.signal?.aborted) {
					throw new Error("cancelled");
				}
				if (ended) {
					break;
				}
				await handle.write(value);
				hash.update(value);
				done += value.byteLength;
				fetched += value.byteLength;
				params.onProgress?.(done);
			}
		} catch (error) {
			throw new Error(
				`download of ${params.repoId}/${params.path} stopped after ${done} of ${params.size} bytes (${(error as Error).message}); the bytes so far are kept in the cache and the next run resumes from there`,
				{ cause: error },
			);
		} finally {
			params.signal?.removeEventListener("abort", cancel);
			await handle.close();
		}
	}
	const size = (await sizeOf(incomplete)) ?? 0;
	const digest = hash.digest("hex");
	const expected = params.sha256 ?? params.oid;
	if (size !== params.size || digest !== expected) {
		await rm(incomplete, { force: true });
		throw new Error(
			size !== params.size
				? `download of ${params.repoId}/${params.path} has ${size} bytes where the Hub lists ${params.size}; the partial file was removed, run again to download it afresh`
				: `download of ${params.repoId}/${params.path} does not match the Hub's ${params.sha256 ? "sha256" : "git blob id"} (${expected}, got ${digest}); the file was removed, run again to download it afresh`,
		);
	}
	await rename(incomplete, blob);
	await linkBlob(blob, pointer);
	return { path: pointer, fetched, resumedFrom };
}

/** The `resolve` URL of a file at a commit. */
export function resolveUrl(params: HubParams & { repoId: string; commit: string; path: string }): string {
	const hubUrl = (params.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, "");
	return `${hubUrl}/${params.repoId}/resolve/${encodeURIComponent(params.commit)}/${params.path
		.split("/")
		.map(encodeURIComponent)
		.join("/")}`;
}

async function request(params: DownloadToCacheParams, start: number): Promise<Response> {
	const url = resolveUrl(params);
	const headers: Record<string, string> = {};
	if (params.accessToken !== undefined) {
		headers.Authorization = `Bearer ${params.accessToken}`;
	}
	if (start > 0) {
		headers.Range = `bytes=${start}-`;
	}
	const response = await (params.fetch ?? fetch)(url, {
		headers,
		...(params.signal ? { signal: params.signal } : {}),
	});
	if (!response.ok) {
		throw await createApiError(response);
	}
	if (response.body === null) {
		throw new Error(`the Hub sent no body for ${url}`);
	}
	if (response.status === 206) {
		const range = /^bytes (\d+)-/.exec(response.headers.get("Content-Range") ?? "");
		if (Number(range?.[1]) !== start) {
			await response.body.cancel();
			throw new Error(`the Hub answered a request for bytes ${start}- of ${url} with another range`);
		}
	}
	return response;
}

async function sizeOf(path: string): Promise<number | undefined> {
	try {
		return (await stat(path)).size;
	} catch {
		return undefined;
	}
}

/** Links the snapshot path to its blob the way huggingface_hub does: a relative symlink, else a copy. */
export async function linkBlob(blob: string, pointer: string): Promise<void> {
	await rm(pointer, { force: true });
	try {
		await symlink(relative(dirname(pointer), blob), pointer);
	} catch {
		await copyFile(blob, pointer);
	}
}

/** Paths come from the repo's tree and are joined onto the cache folder: nothing may escape it. */
export function checkRelativePath(path: string): void {
	const segments = path.split("/");
	if (path.startsWith("/") || path.includes("\\") || segments.some((s) => s === "" || s === "." || s === "..")) {
		throw new Error(`refusing to download ${JSON.stringify(path)}: not a plain relative path inside the repo`);
	}
}
