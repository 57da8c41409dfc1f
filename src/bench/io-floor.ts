import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, rm } from "node:fs/promises";
import { BufferPool } from "../engine/buffer-pool.js";
import { layoutShards } from "../safetensors/shard-layout.js";
import { ShardWriter } from "../safetensors/shard-writer.js";

/** One buffer, written again and again: the floor must not pay for allocating what it writes. */
const CHUNK = 8 * 1024 * 1024;

/**
 * The I/O floor of a merge: the seconds plain streams take to read `inputs` whole and, at the same time, write
 * `outBytes` to `outFile` and sync it, as the merge's writer does before it renames its shards.
 */
export async function ioFloor(inputs: readonly string[], outBytes: number, outFile: string): Promise<number> {
	const started = performance.now();
	const reads = Promise.all(
		inputs.map(async (path) => {
			for await (const _ of createReadStream(path, { highWaterMark: CHUNK })) {
				// Discard: only the reading counts.
			}
		}),
	);
	const chunk = Buffer.alloc(CHUNK, 1);
	const out = createWriteStream(outFile);
	let left = outBytes;
	while (left > 0) {
		const piece = left >= CHUNK ? chunk : chunk.subarray(0, left);
		left -= piece.length;
		if (!out.write(piece)) {
			await once(out, "drain");
		}
	}
	out.end();
	await once(out, "finish");
	const handle = await open(outFile, "r+");
	await handle.sync();
	await handle.close();
	await reads;
	const seconds = (performance.now() - started) / 1000;
	await rm(outFile, { force: true });
	return seconds;
}

/** The write floor's pieces: as large as the blocks of rows a merge writes, two on their way at once. */
const WRITE_PIECE = 16 * 1024 * 1024;

/**
 * The write floor of a merge: the seconds the merge's own shard writer (direct writes where the file system allows
 * them, synced on the way and at the end) takes to write a shard of `outBytes` into `dir` from buffers already
 * touched, with nothing else to do: what no merge of that output size can beat on this disk.
 */
export async function writeFloor(outBytes: number, dir: string): Promise<number> {
	const elements = Math.floor(outBytes / 2);
	const layout = layoutShards([{ name: "floor", dtype: "BF16", shape: [elements] }], 2 * elements + 4096);
	await mkdir(dir, { recursive: true });
	const pool = new BufferPool(false);
	try {
		const writer = await ShardWriter.create(dir, layout);
		// Every piece starts at the same offset within a disk block, so two buffers aligned to it serve every write.
		const phase = writer.blockPhase("floor", 0);
		const buffers = [0, 1].map(() => pool.arena().bytes(WRITE_PIECE, phase).fill(1));
		const started = performance.now();
		const writing: Promise<void>[] = [];
		for (let from = 0, piece = 0; from < 2 * elements; from += WRITE_PIECE, piece++) {
			const buffer = buffers[piece % 2] as Uint8Array;
			await writing[piece - 2];
			writing.push(writer.write("floor", buffer.subarray(0, Math.min(WRITE_PIECE, 2 * elements - from)), from));
		}
		await Promise.all(writing);
		await writer.finish();
		return (performance.now() - started) / 1000;
	} finally {
		pool.close();
		await rm(dir, { recursive: true, force: true });
	}
}
