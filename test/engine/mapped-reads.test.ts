import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BufferPool } from "../../src/engine/buffer-pool.js";
import { loadHelper, type NativeHelper } from "../../src/engine/huge-pages.js";
import { kernelMemory } from "../../src/engine/kernel-memory.js";
import { chooseHelper, MappedReads } from "../../src/engine/mapped-reads.js";
import { TensorReader } from "../../src/engine/tensor-reader.js";
import { makeTinyModel } from "../../src/fixtures/make-tiny-model.js";
import type { PlannedInput } from "../../src/plan/merge-plan.js";
import { SafetensorsFile } from "../../src/safetensors/safetensors-file.js";
import { writeSafetensorsFile } from "../../src/safetensors/write-safetensors-file.js";
import { runCli } from "../helpers/run-cli.js";

let dir: string;
let path: string;
/** 3 MiB of bytes that differ from page to page and within each page. */
const content = Uint8Array.from({ length: 3 << 20 }, (_, i) => (i * 7 + (i >> 12) * 13) & 255);

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-mapped-"));
	path = join(dir, "bytes.bin");
	await writeFile(path, content);
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

const helper = loadHelper();
const built = process.platform === "linux" && !("error" in helper);

describe("chooseHelper", () => {
	const fake = () => ({ mapFile: () => 0, unmapPages: () => 0 });
	it("maps through the helper on Linux with MERGESMITH_MAPPED_READS=1, and not by default", () => {
		expect("mapFile" in chooseHelper("1", "linux", fake)).toBe(true);
		expect(chooseHelper(undefined, "linux", fake)).toEqual({ off: "off unless MERGESMITH_MAPPED_READS=1" });
		expect(chooseHelper("0", "linux", fake)).toEqual({ off: "MERGESMITH_MAPPED_READS=0" });
		expect(chooseHelper("1", "darwin", fake)).toEqual({ off: "inputs are mapped on Linux only" });
	});

	it("says why where the helper is not built", () => {
		const reads = new MappedReads(chooseHelper("1", "linux", () => ({ error: "Cannot find module" })));
		expect(reads.status).toEqual({ on: false, reason: "the native helper is not built (Cannot find module)" });
		expect(reads.map({ fd: 0, offset: 0, length: 1 << 20 }, 2)).toBeUndefined();
	});

	it("turns off, saying why, when a mapping fails, and leaves those bytes to be read", () => {
		const reads = new MappedReads({ mapFile: () => 12, unmapPages: () => 0 });
		expect(reads.map({ fd: 0, offset: 0, length: 1 << 20 }, 2)).toBeUndefined();
		expect(reads.status).toEqual({ on: false, reason: "mmap failed with errno 12" });
	});
});

describe.skipIf(!built)("MappedReads, with the native helper", () => {
	it("maps a file's bytes into kernel memory at any offset within a page, privately", async () => {
		const handle = await open(path, "r");
		try {
			const reads = new MappedReads(helper as NativeHelper);
			for (const offset of [0, 4096, 6, 4090, 12346]) {
				const length = (1 << 20) + 37;
				const mapping = reads.map({ fd: handle.fd, offset, length }, 2);
				expect(mapping, `offset ${offset}`).toBeDefined();
				const { bytes, region } = mapping as NonNullable<typeof mapping>;
				expect(bytes.buffer).toBe(kernelMemory().memory.buffer);
				expect(bytes.byteOffset % 4096).toBe(offset % 4096);
				expect(Buffer.from(bytes).equals(Buffer.from(content.subarray(offset, offset + length)))).toBe(true);
				// A write stays in this process: the file keeps its bytes.
				bytes[0] = (bytes[0] as number) ^ 255;
				const [again] = [new Uint8Array(1)];
				await handle.read(again as Uint8Array, 0, 1, offset);
				expect(again?.[0]).toBe(content[offset]);
				reads.give(region);
			}
			expect(reads.status).toEqual({ on: true });
		} finally {
			await handle.close();
		}
	});

	it("maps into the regions given back, and leaves small and misplaced bytes to be read", async () => {
		const handle = await open(path, "r");
		try {
			const reads = new MappedReads(helper as NativeHelper);
			const first = reads.map({ fd: handle.fd, offset: 8192, length: 1 << 20 }, 4);
			reads.give((first as NonNullable<typeof first>).region);
			const second = reads.map({ fd: handle.fd, offset: 4096 * 9 + 100, length: 1 << 19 }, 4);
			expect(second?.region).toBe(first?.region);
			expect(
				Buffer.from(second?.bytes as Uint8Array).equals(Buffer.from(content.subarray(36964, 36964 + (1 << 19)))),
			).toBe(true);
			// Float32 elements at an offset that is not a multiple of 4 could not be viewed where they are mapped.
			expect(reads.map({ fd: handle.fd, offset: 4098, length: 1 << 20 }, 4)).toBeUndefined();
			expect(reads.map({ fd: handle.fd, offset: 0, length: 4096 }, 4)).toBeUndefined();
		} finally {
			await handle.close();
		}
	});

	it("serves a tensor reader's reads, the same bytes as read, until the arena is released", async () => {
		// The process's mapped reads, created at their first use (here), are on only where asked for.
		process.env.MERGESMITH_MAPPED_READS = "1";
		const model = join(dir, "model.safetensors");
		const values = Float32Array.from({ length: 300_000 }, (_, i) => Math.sin(i));
		await writeSafetensorsFile(model, {
			"a.weight": { dtype: "BF16", shape: [3, 100_001], data: new Uint8Array(600_006).map((_, i) => i % 251) },
			"b.weight": { dtype: "F32", shape: [300_000], data: values },
		});
		const file = await SafetensorsFile.open(model);
		const reader = new TensorReader(async () => file);
		const pool = new BufferPool(false);
		try {
			for (const name of ["a.weight", "b.weight"]) {
				const info = file.info(name);
				const input: PlannedInput = { model: "m", stored: { ...info, file: model }, params: {} };
				const arena = pool.arena();
				const bytes = await reader.readBytes(input, arena);
				expect(Buffer.from(bytes).equals(Buffer.from(await file.readBytes(name)))).toBe(true);
				const mapped =
					bytes.buffer === kernelMemory().memory.buffer && (bytes.byteOffset - info.byteOffset) % 4096 === 0;
				// b.weight's offset (after a.weight's 600,006 bytes) is a multiple of 2 only: read into the pool.
				expect(mapped, name).toBe(name === "a.weight");
				arena.release();
			}
		} finally {
			pool.close();
			await file.close();
		}
	});
});

describe.skipIf(!built)("a merge with mapped inputs", () => {
	it("writes the same bytes as one that reads them (MERGESMITH_MAPPED_READS=1 and 0)", async () => {
		// Embeddings of 1024 × 512 bf16 elements, 1 MiB: mapped.
		const sizes = { family: "llama", layers: 1, hidden: 512, intermediate: 256, vocab: 1024, dtype: "BF16" } as const;
		await makeTinyModel(join(dir, "base"), { ...sizes, seed: 1 });
		await makeTinyModel(join(dir, "a"), { ...sizes, seed: 1, drift: { seed: 2, scale: 0.01 } });
		for (const method of ["slerp", "ties"]) {
			const recipe = join(dir, `${method}.yml`);
			const parameters = method === "slerp" ? "parameters: {t: 0.3}" : "parameters: {weight: 0.5, density: 0.4}";
			await writeFile(
				recipe,
				[
					`merge_method: ${method}`,
					`base_model: ${join(dir, "base")}`,
					"dtype: bfloat16",
					...(method === "slerp" ? [parameters] : []),
					"models:",
					`  - model: ${join(dir, "a")}`,
					...(method === "ties" ? [`    ${parameters}`] : []),
				].join("\n"),
			);
			const outputs: Buffer[] = [];
			for (const setting of ["0", "1"]) {
				const out = join(dir, `${method}-${setting}`);
				const result = await runCli(["merge", recipe, "--out", out], { MERGESMITH_MAPPED_READS: setting });
				expect(result.code, result.stderr).toBe(0);
				outputs.push(await readFile(join(out, "model.safetensors")));
			}
			expect(outputs[0]?.equals(outputs[1] as Buffer), method).toBe(true);
		}
	});
});
