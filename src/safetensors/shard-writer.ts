import { type FileHandle, open, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ShardLayout, ShardTensor } from "./shard-layout.js";

/**
 * Writes a precomputed shard layout tensor by tensor, in any order, with positional writes into `<name>.partial`
 * files; `finish()` checks that every tensor arrived, syncs, and renames the shards into place, so a failed merge
 * never leaves a file that looks complete.
 */
export class ShardWriter {
	readonly #dir: string;
	readonly #layout: ShardLayout;
	readonly #handles = new Map<string, FileHandle>();
	readonly #where = new Map<string, { shard: string; tensor: ShardTensor }>();
	readonly #written = new Set<string>();

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

	async write(name: string, bytes: Uint8Array): Promise<void> {
		const entry = this.#where.get(name);
		const handle = entry && this.#handles.get(entry.shard);
		if (!entry || !handle) {
			throw new Error(`tensor ${name} is not part of the output layout`);
		}
		if (bytes.length !== entry.tensor.byteLength) {
			throw new Error(`tensor ${name}: got ${bytes.length} bytes, the layout expects ${entry.tensor.byteLength}`);
		}
		let done = 0;
		while (done < bytes.length) {
			const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, entry.tensor.byteOffset + done);
			done += bytesWritten;
		}
		this.#written.add(name);
	}

	/** Returns the names of the files written. */
	async finish(): Promise<string[]> {
		const missing = [...this.#where.keys()].filter((name) => !this.#written.has(name));
		if (missing.length > 0) {
			throw new Error(`the merge ended with ${missing.length} tensors unwritten (first: ${missing[0]})`);
		}
		for (const handle of this.#handles.values()) {
			await handle.sync();
			await handle.close();
		}
		this.#handles.clear();
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
		for (const handle of this.#handles.values()) {
			await handle.close().catch(() => undefined);
		}
		this.#handles.clear();
		for (const shard of this.#layout.shards) {
			await rm(join(this.#dir, `${shard.fileName}.partial`), { force: true });
		}
	}
}
