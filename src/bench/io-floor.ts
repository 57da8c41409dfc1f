import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { open, rm } from "node:fs/promises";

/** One buffer, written again and again: the floor must not pay for allocating what it writes. */
const CHUNK = 8 * 1024 * 1024;

/** The I/O floor's seconds in all, and the seconds its writing took, from the start until the output was synced. */
export interface IoFloor {
	seconds: number;
	writeSeconds: number;
}

/**
 * The I/O floor of a merge: the seconds plain streams take to read `inputs` whole and, at the same time, write
 * `outBytes` to `outFile` and sync it, as the merge's writer does before it renames its shards.
 */
export async function ioFloor(inputs: readonly string[], outBytes: number, outFile: string): Promise<IoFloor> {
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
	const writeSeconds = (performance.now() - started) / 1000;
	await reads;
	const seconds = (performance.now() - started) / 1000;
	await rm(outFile, { force: true });
	return { seconds, writeSeconds };
}
