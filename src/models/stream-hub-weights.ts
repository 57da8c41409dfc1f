import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { MergeEvent } from "../execute/merge-events.js";
import { createApiError } from "../hub/create-api-error.js";
import { checkRelativePath, linkBlob, resolveUrl } from "../hub/download-to-cache-dir.js";
import type { HubParams } from "../hub/hub-params.js";
import type { TensorInfo } from "../safetensors/parse-header.js";
import {
	type ByteRange,
	checkRange,
	readFloat32Through,
	type TensorFile,
	tensorInfo,
} from "../safetensors/safetensors-file.js";
import { checkHeaders } from "./download-hub-model.js";
import { hubCacheDir, writeCacheRef } from "./hf-cache.js";
import type { LoadedModel, ModelSourceOptions, RemoteFile } from "./load-model.js";

/** A failed range request is tried this many times in all before the merge stops. */
const ATTEMPTS = 3;
/** Gaps left after the merge are fetched in pieces of at most this size. */
const GAP_PIECE = 64 * 1024 * 1024;

interface Streamed {
	model: LoadedModel;
	repoId: string;
	commit: string;
	file: RemoteFile;
	/** The plan's path for the file: its place in the cache's snapshot folder. */
	pointer: string;
	blob: string;
	/** Where the bytes land until the file is whole: `blobs/<etag>.streaming`. */
	partial: string;
	tensors: Map<string, TensorInfo>;
	handle?: Promise<FileHandle> | undefined;
	/** Byte ranges [start, end) already written, in any order. */
	covered: [number, number][];
}

/**
 * Streams the weights of Hub models into a merge: when the executor reads a tensor, its bytes are fetched with one
 * Range request and written into the cache file at their offset. The merge starts with the first tensor instead of
 * after whole downloads, and no byte crosses the network twice. Afterwards `complete` fetches what the merge did not
 * read (each file's header, tensors the plan leaves out), checks size and hash, and installs each file in the cache
 * as a download would, so the next merge of these models reads them from disk.
 */
export class HubWeightStream {
	readonly #files = new Map<string, Streamed>();
	readonly #hub: HubParams;
	readonly #cacheDir: string;

	private constructor(hub: HubParams, cacheDir: string) {
		this.#hub = hub;
		this.#cacheDir = cacheDir;
	}

	/** The safetensors files of `models` still missing from the cache, each streamed once whoever reads it. */
	static create(models: readonly LoadedModel[], options: ModelSourceOptions = {}): HubWeightStream {
		const stream = new HubWeightStream(options.hub ?? {}, options.cacheDir ?? hubCacheDir());
		for (const model of models) {
			if (!model.hub || model.commit === undefined) {
				continue;
			}
			for (const file of model.hub.pending) {
				const pointer = join(model.dir, ...file.path.split("/"));
				const tensors = new Map<string, TensorInfo>();
				for (const tensor of model.tensors.values()) {
					if (tensor.file === pointer) {
						tensors.set(tensor.name, tensor);
					}
				}
				if (!file.path.endsWith(".safetensors") || tensors.size === 0 || stream.#files.has(pointer)) {
					continue;
				}
				checkRelativePath(file.path);
				const blob = join(
					stream.#cacheDir,
					`models--${model.hub.repoId.replaceAll("/", "--")}`,
					"blobs",
					file.sha256 ?? file.oid,
				);
				stream.#files.set(pointer, {
					model,
					repoId: model.hub.repoId,
					commit: model.commit,
					file,
					pointer,
					blob,
					partial: `${blob}.streaming`,
					tensors,
					covered: [],
				});
			}
		}
		return stream;
	}

	/** Whether a file of a model is streamed here (the downloader leaves those alone). */
	streams(model: LoadedModel, file: RemoteFile): boolean {
		return this.#files.has(join(model.dir, ...file.path.split("/")));
	}

	/** The streamed file at a plan path, or undefined for files on disk. */
	open(path: string): TensorFile | undefined {
		const streamed = this.#files.get(path);
		return streamed
			? new StreamedSafetensorsFile(streamed, (s, start, target) => this.#fetchInto(s, start, target))
			: undefined;
	}

	/**
	 * Fetches every byte the merge did not read, checks each file against the Hub's size and hash, moves it into the
	 * cache and reports each model as downloaded.
	 */
	async *complete(): AsyncGenerator<MergeEvent> {
		const started = performance.now();
		const fetchedByModel = new Map<LoadedModel, number>();
		for (const streamed of this.#files.values()) {
			let fetched = covered(streamed.covered);
			for (const [start, end] of gaps(streamed.covered, streamed.file.size)) {
				for (let from = start; from < end; from += GAP_PIECE) {
					const piece = new Uint8Array(Math.min(GAP_PIECE, end - from));
					await this.#fetchInto(streamed, from, piece);
					fetched += piece.length;
				}
				yield {
					type: "download",
					model: streamed.model.reference.key,
					file: streamed.file.path,
					bytesDone: covered(streamed.covered),
					bytesTotal: streamed.file.size,
				};
			}
			await (await streamed.handle)?.close();
			streamed.handle = undefined;
			await this.#install(streamed);
			fetchedByModel.set(streamed.model, (fetchedByModel.get(streamed.model) ?? 0) + fetched);
		}
		for (const [model, bytes] of fetchedByModel) {
			if (!model.hub || model.commit === undefined) {
				continue;
			}
			await checkHeaders(model);
			writeCacheRef(this.#cacheDir, model.hub.repoId, model.hub.revision ?? "main", model.commit);
			yield {
				type: "downloaded",
				model: model.reference.key,
				commit: model.commit,
				files: model.hub.pending.length,
				bytes,
				seconds: (performance.now() - started) / 1000,
			};
		}
	}

	/** A merge that failed: the partial files are removed (a later run streams afresh). */
	async abort(): Promise<void> {
		for (const streamed of this.#files.values()) {
			await (await streamed.handle?.catch(() => undefined))?.close();
			await rm(streamed.partial, { force: true });
		}
	}

	async #fetchInto(streamed: Streamed, start: number, target: Uint8Array): Promise<void> {
		const end = start + target.length;
		let lastError: unknown;
		for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
			try {
				await this.#rangeRequest(streamed, start, target);
				lastError = undefined;
				break;
			} catch (error) {
				lastError = error;
				if ((error as { statusCode?: number }).statusCode !== undefined) {
					// The Hub answered (401, 404, ...): asking again changes nothing.
					break;
				}
			}
		}
		if (lastError !== undefined) {
			throw new Error(
				`reading bytes ${start}-${end - 1} of ${streamed.repoId}/${streamed.file.path} from the Hub failed: ${(lastError as Error).message}`,
				{ cause: lastError },
			);
		}
		streamed.handle ??= mkdir(dirname(streamed.partial), { recursive: true }).then(() => open(streamed.partial, "w"));
		const handle = await streamed.handle;
		await handle.write(target, 0, target.length, start);
		streamed.covered.push([start, end]);
	}

	async #rangeRequest(streamed: Streamed, start: number, target: Uint8Array): Promise<void> {
		const url = resolveUrl({
			...this.#hub,
			repoId: streamed.repoId,
			commit: streamed.commit,
			path: streamed.file.path,
		});
		const headers: Record<string, string> = { Range: `bytes=${start}-${start + target.length - 1}` };
		if (this.#hub.accessToken !== undefined) {
			headers.Authorization = `Bearer ${this.#hub.accessToken}`;
		}
		const response = await (this.#hub.fetch ?? fetch)(url, { headers });
		if (!response.ok) {
			throw await createApiError(response);
		}
		const range = /^bytes (\d+)-(\d+)/.exec(response.headers.get("Content-Range") ?? "");
		if (response.status !== 206 || Number(range?.[1]) !== start || Number(range?.[2]) !== start + target.length - 1) {
			await response.body?.cancel();
			throw new Error(`the Hub did not answer with the requested range (status ${response.status})`);
		}
		let done = 0;
		for await (const chunk of response.body ?? []) {
			const bytes = chunk as Uint8Array;
			if (done + bytes.length > target.length) {
				throw new Error("the Hub sent more bytes than the range holds");
			}
			target.set(bytes, done);
			done += bytes.length;
		}
		if (done !== target.length) {
			throw new Error(`the connection ended after ${done} of ${target.length} bytes`);
		}
	}

	async #install(streamed: Streamed): Promise<void> {
		const { file } = streamed;
		const hash = createHash(file.sha256 ? "sha256" : "sha1");
		if (!file.sha256) {
			hash.update(`blob ${file.size}\0`);
		}
		let size = 0;
		for await (const chunk of createReadStream(streamed.partial)) {
			hash.update(chunk as Buffer);
			size += (chunk as Buffer).length;
		}
		const digest = hash.digest("hex");
		const expected = file.sha256 ?? file.oid;
		if (size !== file.size || digest !== expected) {
			await rm(streamed.partial, { force: true });
			throw new Error(
				`${streamed.repoId}/${file.path}, streamed during the merge, has ${size} bytes and ${file.sha256 ? "sha256" : "git blob id"} ${digest} where the Hub lists ${file.size} and ${expected}; it was not kept in the cache, and the merge's output should not be trusted: run again`,
			);
		}
		await rename(streamed.partial, streamed.blob);
		await mkdir(dirname(streamed.pointer), { recursive: true });
		await linkBlob(streamed.blob, streamed.pointer);
	}
}

/** One streamed safetensors file as the executor reads it: tensors by name, each fetched when read. */
class StreamedSafetensorsFile implements TensorFile {
	readonly path: string;
	readonly #streamed: Streamed;
	readonly #fetch: (streamed: Streamed, start: number, target: Uint8Array) => Promise<void>;

	constructor(streamed: Streamed, fetchInto: (streamed: Streamed, start: number, target: Uint8Array) => Promise<void>) {
		this.path = streamed.pointer;
		this.#streamed = streamed;
		this.#fetch = fetchInto;
	}

	info(name: string): TensorInfo {
		return tensorInfo(this.path, this.#streamed.tensors, name);
	}

	async readBytes(name: string, target?: Uint8Array, range?: ByteRange): Promise<Uint8Array> {
		const info = this.info(name);
		const { from, length } = checkRange(this.path, info, range);
		const out = target ? target.subarray(0, length) : new Uint8Array(length);
		await this.#fetch(this.#streamed, info.byteOffset + from, out);
		return out;
	}

	readFloat32(name: string): Promise<Float32Array> {
		return readFloat32Through(this, name);
	}

	async close(): Promise<void> {
		// The cache file stays open for the other tensors; `complete` or `abort` closes it.
	}
}

function covered(ranges: readonly [number, number][]): number {
	return merged(ranges).reduce((sum, [start, end]) => sum + end - start, 0);
}

function merged(ranges: readonly [number, number][]): [number, number][] {
	const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
	const out: [number, number][] = [];
	for (const [start, end] of sorted) {
		const last = out[out.length - 1];
		if (last && start <= last[1]) {
			last[1] = Math.max(last[1], end);
		} else {
			out.push([start, end]);
		}
	}
	return out;
}

/** The ranges of [0, size) that `ranges` leave out. */
function gaps(ranges: readonly [number, number][], size: number): [number, number][] {
	const out: [number, number][] = [];
	let at = 0;
	for (const [start, end] of merged(ranges)) {
		if (start > at) {
			out.push([at, start]);
		}
		at = Math.max(at, end);
	}
	if (at < size) {
		out.push([at, size]);
	}
	return out;
}
