import { constants } from "node:fs";
import { type FileHandle, open, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ShardLayout, ShardTensor } from "./shard-layout.js";

/** Direct I/O's unit: the file offsets, lengths and memory addresses of direct writes are multiples of it. */
export const DIRECT_BLOCK = 4096;

/**
 * A shard is synced in the background each time this many more bytes have been written to it, so that the disk
 * persists the merge while it runs instead of after it: the sync at the end then has little left to do (full-size
 * linear merge, 2.2 GB: the last sync 1.07–1.10 s alone → 0.2–1.4 ms after the ones on the way).
 */
const SYNC_STEP = 128 * 1024 * 1024;

/**
 * Writes a precomputed shard layout tensor by tensor, in any order, with positional writes into `<name>.partial`
 * files; `finish()` checks that every tensor arrived, syncs, and renames the shards into place, so a failed merge
 * never leaves a file that looks complete.
 *
 * Where the file system allows direct I/O (O_DIRECT), the whole 4 KiB blocks of a tensor go straight from its
 * buffer to the disk, and only the partial blocks at its ends through the page cache. On these machines copying into
 * the page cache costs more CPU than a whole merge's arithmetic (fresh page-cache pages fault expensively), and the
 * disk takes direct writes at 1.4–1.8 GB/s against 0.4 GB/s buffered. A buffer can be written directly only if its
 * address has the same offset within a block as the tensor's bytes in the file (`blockPhase`); others, and every
 * write where direct I/O turns out not to work, take the page cache.
 */
export class ShardWriter {
	readonly #dir: string;
	readonly #layout: ShardLayout;
	readonly #handles = new Map<string, FileHandle>();
	/** The same files opened for direct I/O, where the file system allows it. */
	readonly #direct = new Map<string, FileHandle>();
	readonly #where = new Map<string, { shard: string; tensor: ShardTensor }>();
	/** Bytes of each tensor written so far (a tensor may arrive in blocks of rows). */
	readonly #written = new Map<string, number>();
	/** Bytes written to each shard since its last sync started. */
	readonly #unsynced = new Map<string, number>();
	/** The background sync in flight (one at a time), and the first one that failed. */
	#syncing: Promise<void> | undefined;
	#syncFailure: { error: unknown } | undefined;

	private constructor(dir: string, layout: ShardLayout) {
		this.#dir = dir;
		this.#layout = layout;
		for (const shard of layout.shards) {
			for (const tensor of shard.tensors) {
				this.#where.set(tensor.name, { shard: shard.fileName, tensor });
			}
		}
	}

	static async create(dir: string, layout: ShardLayout): Promise<ShardWriter> {
		const writer = new ShardWriter(dir, layout);
		try {
			for (const shard of layout.shards) {
				const handle = await open(join(dir, `${shard.fileName}.partial`), "w");
				writer.#handles.set(shard.fileName, handle);
				await handle.truncate(shard.size);
				await handle.write(shard.header, 0, shard.header.length, 0);
				const direct = await openDirect(join(dir, `${shard.fileName}.partial`));
				if (direct) {
					writer.#direct.set(shard.fileName, direct);
				}
			}
		} catch (error) {
			await writer.abort();
			throw error;
		}
		return writer;
	}

	tensor(name: string): ShardTensor {
		const entry = this.#where.get(name);
		if (!entry) {
			throw new Error(`tensor ${name} is not part of the output layout`);
		}
		return entry.tensor;
	}

	/**
	 * Where in a 4 KiB block of memory the bytes of tensor `name` from its byte `from` on should start for their whole
	 * blocks to be written directly: their offset in the file modulo the block (undefined for an odd offset, which no
	 * 16-bit view could start at).
	 */
	blockPhase(name: string, from = 0): number | undefined {
		const offset = this.tensor(name).byteOffset + from;
		return offset % 2 === 0 ? offset % DIRECT_BLOCK : undefined;
	}

	/** Writes tensor `name`'s bytes, or with `from` its bytes from that one on (a block of its rows). */
	async write(name: string, bytes: Uint8Array, from = 0): Promise<void> {
		const entry = this.#where.get(name);
		const handle = entry && this.#handles.get(entry.shard);
		if (!entry || !handle) {
			throw new Error(`tensor ${name} is not part of the output layout`);
		}
		if (from + bytes.length > entry.tensor.byteLength) {
			throw new Error(
				`tensor ${name}: got ${bytes.length} bytes from byte ${from}, the layout expects ${entry.tensor.byteLength}`,
			);
		}
		const at = entry.tensor.byteOffset + from;
		const direct = this.#direct.get(entry.shard);
		const first = Math.ceil(at / DIRECT_BLOCK) * DIRECT_BLOCK;
		const last = Math.floor((at + bytes.length) / DIRECT_BLOCK) * DIRECT_BLOCK;
		if (direct && last > first && (bytes.byteOffset + first - at) % DIRECT_BLOCK === 0) {
			try {
				// Side by side: each step of a chain of writes would wait for the event loop, which a merge keeps busy.
				await Promise.all([
					writeFully(direct, bytes, first - at, last - at, first),
					writeFully(handle, bytes, 0, first - at, at),
					writeFully(handle, bytes, last - at, bytes.length, last),
				]);
				this.#wrote(name, bytes.length, entry.shard, handle);
				return;
			} catch (error) {
				if ((error as NodeJS.ErrnoException).code !== "EINVAL") {
					throw error;
				}
				// The buffer's memory was not aligned after all (not a pooled one): the page cache takes this shard's
				// writes from now on.
				await direct.close();
				this.#direct.delete(entry.shard);
			}
		}
		await writeFully(handle, bytes, 0, bytes.length, at);
		this.#wrote(name, bytes.length, entry.shard, handle);
	}

	/** Counts bytes of a tensor written, and starts its shard's sync once SYNC_STEP bytes wait and none is running. */
	#wrote(name: string, bytes: number, shard: string, handle: FileHandle): void {
		this.#written.set(name, (this.#written.get(name) ?? 0) + bytes);
		const unsynced = (this.#unsynced.get(shard) ?? 0) + bytes;
		this.#unsynced.set(shard, unsynced);
		if (unsynced >= SYNC_STEP && !this.#syncing) {
			this.#unsynced.set(shard, 0);
			this.#syncing = handle.sync().then(
				() => {
					this.#syncing = undefined;
				},
				(error: unknown) => {
					this.#syncing = undefined;
					this.#syncFailure ??= { error };
				},
			);
		}
	}

	/** Waits for the background sync in flight; throws the error of one that failed. */
	async #settleSync(): Promise<void> {
		await this.#syncing;
		if (this.#syncFailure) {
			throw this.#syncFailure.error;
		}
	}

	/** Returns the names of the files written. */
	async finish(): Promise<string[]> {
		const missing = [...this.#where].filter(([name, { tensor }]) => this.#written.get(name) !== tensor.byteLength);
		if (missing.length > 0) {
			throw new Error(`the merge ended with ${missing.length} tensors unwritten (first: ${missing[0]?.[0]})`);
		}
		await this.#settleSync();
		// One sync per file covers both of its handles: the page cache's writes and the metadata of the direct ones.
		for (const handle of this.#handles.values()) {
			await handle.sync();
			await handle.close();
		}
		this.#handles.clear();
		await this.#closeDirect();
		const files: string[] = [];
		for (const shard of this.#layout.shards) {
			await rename(join(this.#dir, `${shard.fileName}.partial`), join(this.#dir, shard.fileName));
			files.push(shard.fileName);
		}
		if (this.#layout.indexJson !== undefined) {
			await writeFile(join(this.#dir, "model.safetensors.index.json"), this.#layout.indexJson);
			files.push("model.safetensors.index.json");
		}
		return files;
	}

	async abort(): Promise<void> {
		await this.#syncing;
		for (const handle of this.#handles.values()) {
			await handle.close().catch(() => undefined);
		}
		this.#handles.clear();
		await this.#closeDirect();
		for (const shard of this.#layout.shards) {
			await rm(join(this.#dir, `${shard.fileName}.partial`), { force: true });
		}
	}

	async #closeDirect(): Promise<void> {
		for (const handle of this.#direct.values()) {
			await handle.close().catch(() => undefined);
		}
		this.#direct.clear();
	}
}

/** Writes bytes [from, to) of `bytes` at `position`, however many calls it takes. */
async function writeFully(handle: FileHandle, bytes: Uint8Array, from: number, to: number, position: number) {
	let done = from;
	while (done < to) {
		const { bytesWritten } = await handle.write(bytes, done, to - done, position + done - from);
		done += bytesWritten;
	}
}

/** The file opened for direct writes, or undefined where the platform or file system has no direct I/O (tmpfs). */
async function openDirect(path: string): Promise<FileHandle | undefined> {
	if (constants.O_DIRECT === undefined) {
		return undefined;
	}
	try {
		return await open(path, constants.O_WRONLY | constants.O_DIRECT);
	} catch {
		return undefined;
	}
}
