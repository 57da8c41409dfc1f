import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BufferPool } from "../../src/engine/buffer-pool.js";
import { layoutShards } from "../../src/safetensors/shard-layout.js";
import { DIRECT_BLOCK, ShardWriter } from "../../src/safetensors/shard-writer.js";

/** Tensors that start and end anywhere in a block: smaller than one, across several, on an odd element count. */
const SPECS = [
	{ name: "tiny", dtype: "BF16" as const, shape: [3] },
	{ name: "blocks", dtype: "BF16" as const, shape: [5000] },
	{ name: "odd", dtype: "BF16" as const, shape: [20001] },
	{ name: "wide", dtype: "F32" as const, shape: [100_000] },
	{ name: "last", dtype: "BF16" as const, shape: [2048] },
];

function patterned(length: number, seed: number): Uint8Array {
	return Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 17 + (i >> 9)) & 0xff);
}

const dirs: string[] = [];
afterEach(() => {
	for (const dir of dirs.splice(0)) {
		rmSync(dir, { recursive: true, force: true });
	}
});

// The system's temporary folder and tmpfs: file systems that may or may not take direct I/O.
const roots = [tmpdir(), ...(existsSync("/dev/shm") ? ["/dev/shm"] : [])];

describe("ShardWriter", () => {
	for (const root of roots) {
		it(`puts every byte in its place, whether a buffer is written directly or through the page cache (${root})`, async () => {
			const dir = mkdtempSync(join(root, "mergesmith-writer-"));
			dirs.push(dir);
			const layout = layoutShards(SPECS, 1 << 30);
			const writer = await ShardWriter.create(dir, layout);
			const pool = new BufferPool(false);
			const arena = pool.arena();
			const expected = new Map<string, Uint8Array>();
			// Out of order, and in three kinds of buffer: pooled at the writer's block phase (whole blocks go direct),
			// pooled at the wrong phase, and a plain view that starts at an odd byte of its buffer.
			const order = ["odd", "tiny", "wide", "last", "blocks"];
			for (const [index, name] of order.entries()) {
				const length = writer.tensor(name).byteLength;
				const content = patterned(length, index);
				expected.set(name, content);
				const phase = writer.blockPhase(name) ?? 0;
				const bytes =
					index % 3 === 0
						? arena.bytes(length, phase)
						: index % 3 === 1
							? arena.bytes(length, (phase + 2) % DIRECT_BLOCK)
							: new Uint8Array(new ArrayBuffer(length + 1), 1, length);
				bytes.set(content);
				await writer.write(name, bytes);
			}
			expect(await writer.finish()).toEqual(["model.safetensors"]);
			arena.release();
			pool.close();
			expect(readdirSync(dir)).toEqual(["model.safetensors"]);
			const file = readFileSync(join(dir, "model.safetensors"));
			expect(file.length).toBe(layout.shards[0]?.size);
			expect(file.subarray(0, layout.shards[0]?.header.length)).toEqual(Buffer.from(layout.shards[0]?.header ?? []));
			for (const spec of SPECS) {
				const { byteOffset, byteLength } = writer.tensor(spec.name);
				expect(file.subarray(byteOffset, byteOffset + byteLength), spec.name).toEqual(
					Buffer.from(expected.get(spec.name) ?? []),
				);
			}
		});
	}

	it("takes a tensor in blocks of its bytes, in any order, and finishes only once every block has arrived", async () => {
		const dir = mkdtempSync(join(tmpdir(), "mergesmith-writer-"));
		dirs.push(dir);
		const layout = layoutShards(SPECS, 1 << 30);
		const writer = await ShardWriter.create(dir, layout);
		const pool = new BufferPool(false);
		const arena = pool.arena();
		const content = new Map(SPECS.map((spec, i) => [spec.name, patterned(writer.tensor(spec.name).byteLength, i)]));
		const write = async (name: string, from: number, to: number): Promise<void> => {
			const bytes = arena.bytes(to - from, writer.blockPhase(name, from) ?? 0);
			bytes.set((content.get(name) as Uint8Array).subarray(from, to));
			await writer.write(name, bytes, from);
		};
		for (const spec of SPECS.filter((s) => s.name !== "wide")) {
			await write(spec.name, 0, writer.tensor(spec.name).byteLength);
		}
		// 400,000 bytes in blocks that start and end inside direct I/O's blocks, the last first.
		await write("wide", 250_002, 400_000);
		await write("wide", 0, 100_002);
		await expect(writer.finish()).rejects.toThrow("the merge ended with 1 tensors unwritten (first: wide)");
		await write("wide", 100_002, 250_002);
		await expect(writer.write("wide", new Uint8Array(8), 399_996)).rejects.toThrow(
			"tensor wide: got 8 bytes from byte 399996, the layout expects 400000",
		);
		expect(await writer.finish()).toEqual(["model.safetensors"]);
		arena.release();
		pool.close();
		const file = readFileSync(join(dir, "model.safetensors"));
		for (const spec of SPECS) {
			const { byteOffset, byteLength } = writer.tensor(spec.name);
			expect(file.subarray(byteOffset, byteOffset + byteLength), spec.name).toEqual(
				Buffer.from(content.get(spec.name) ?? []),
			);
		}
	});

	it("leaves no partial file behind when a merge is aborted", async () => {
		const dir = mkdtempSync(join(tmpdir(), "mergesmith-writer-"));
		dirs.push(dir);
		const writer = await ShardWriter.create(dir, layoutShards(SPECS, 1 << 30));
		await writer.write("tiny", new Uint8Array(6));
		await writer.abort();
		expect(readdirSync(dir)).toEqual([]);
	});
});
