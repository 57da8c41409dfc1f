import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { HubError } from "./hub-error.js";
import type { HubStore } from "./hub-store.js";

/** Stores one part of a multipart upload and returns its ETag (the part's MD5, quoted, as S3 answers). */
export async function writeUploadPart(
	store: HubStore,
	uploadId: string,
	part: number,
	body: WebReadableStream<Uint8Array> | null,
	expectedSize: number,
): Promise<string> {
	const dir = store.uploadDir(uploadId);
	await mkdir(dir, { recursive: true });
	const hash = createHash("md5");
	let size = 0;
	const counter = new Transform({
		transform(chunk: Buffer, _encoding, callback) {
			hash.update(chunk);
			size += chunk.byteLength;
			callback(null, chunk);
		},
	});
	const path = join(dir, String(part));
	await pipeline(body ? Readable.fromWeb(body) : Readable.from([]), counter, createWriteStream(path));
	if (size !== expectedSize) {
		await rm(path, { force: true });
		throw new HubError(400, `Part ${part} has ${size} bytes, expected ${expectedSize}`);
	}
	return `"${hash.digest("hex")}"`;
}

async function partEtag(path: string): Promise<string> {
	const hash = createHash("md5");
	await pipeline(createReadStream(path), hash);
	return `"${hash.digest("hex")}"`;
}

/** Joins the parts in order into one object, checking each part's ETag and the whole's sha256 and size. */
export async function completeUpload(
	store: HubStore,
	uploadId: string,
	parts: { partNumber: number; etag: string }[],
	expected: { sha256: string; size: number; partCount: number },
): Promise<void> {
	const dir = store.uploadDir(uploadId);
	const ordered = [...parts].sort((a, b) => a.partNumber - b.partNumber);
	if (ordered.length !== expected.partCount || ordered.some((part, index) => part.partNumber !== index + 1)) {
		throw new HubError(400, `Expected parts 1 to ${expected.partCount}`);
	}
	for (const part of ordered) {
		const path = join(dir, String(part.partNumber));
		const exists = await stat(path).catch(() => undefined);
		if (!exists || (await partEtag(path)) !== part.etag) {
			throw new HubError(400, `Part ${part.partNumber} is missing or its ETag does not match`);
		}
	}
	const joined = new PassThrough();
	const feeding = (async () => {
		for (const part of ordered) {
			await pipeline(createReadStream(join(dir, String(part.partNumber))), joined, { end: false });
		}
		joined.end();
	})();
	feeding.catch((error: unknown) => joined.destroy(error as Error));
	await store.putStream(joined, { sha256: expected.sha256, size: expected.size });
	await feeding;
	await rm(dir, { recursive: true, force: true });
}
