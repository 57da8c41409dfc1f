import { describe, expect, it } from "vitest";
import { BufferPool } from "../../src/engine/buffer-pool.js";
import { KernelMemory, kernelMemory, type MemoryRegion } from "../../src/engine/kernel-memory.js";

describe("KernelMemory", () => {
	it("hands out cache-line regions that do not overlap, growing the memory as they need", () => {
		const memory = KernelMemory.create();
		const a = memory.allocate(100);
		const b = memory.allocate(200_000);
		expect(a?.byteOffset).toBe(64);
		expect(a?.byteLength).toBe(128);
		expect(b?.byteOffset).toBe(192);
		expect(memory.memory.buffer.byteLength).toBeGreaterThanOrEqual(192 + 200_000);
		// Views of a region made before the memory grew still see what is written after.
		const early = new Uint8Array(a?.buffer as SharedArrayBuffer, a?.byteOffset, 100);
		memory.allocate(1 << 20);
		new Uint8Array(memory.memory.buffer, 64, 1)[0] = 7;
		expect(early[0]).toBe(7);
	});

	it("reuses released regions, joining neighbours, and lowers its top when the last one goes", () => {
		const memory = KernelMemory.create();
		const [first, second, third] = [1000, 1000, 1000].map((bytes) => memory.allocate(bytes) as MemoryRegion);
		const top = memory.usedBytes;
		memory.release(first as MemoryRegion);
		memory.release(second as MemoryRegion);
		// The first two, joined, take a request larger than either.
		expect(memory.allocate(2000)?.byteOffset).toBe(64);
		memory.release(third as MemoryRegion);
		expect(memory.usedBytes).toBeLessThan(top);
	});

	it("refuses what would take it past wasm32's 4 GiB, and goes on serving what fits", () => {
		const memory = KernelMemory.create();
		expect(memory.allocate(2 ** 32)).toBeUndefined();
		expect(memory.allocate(64)?.byteOffset).toBe(64);
	});

	it("knows its own buffers, and only those", () => {
		const pool = new BufferPool(true);
		const arena = pool.arena();
		const inMemory = arena.f32(1000);
		expect(kernelMemory().holds(inMemory)).toBe(true);
		expect(kernelMemory().holds(new Float32Array(new SharedArrayBuffer(4000)))).toBe(false);
		arena.release();
		pool.close();
	});

	it("is allocated only by the thread that created it", () => {
		const adopted = KernelMemory.adopt(KernelMemory.create().memory, 64);
		expect(() => adopted.allocate(64)).toThrow("only by the thread that created it");
		expect(adopted.scratch(1024)).toBe(64);
	});
});

describe("BufferPool", () => {
	it("takes at most a tenth more memory than a merge's tensors hold at once, whatever their sizes", () => {
		const pool = new BufferPool(true);
		const start = kernelMemory().usedBytes;
		// A Llama layer's tensors as a merge of three bf16 inputs asks for them: each input as stored and float32
		// scratch, then the output a page larger (placed for direct writes) while the inputs are released; each output
		// is released once the next tensor's is done, as a write on its way to disk.
		const tensors = [2048 * 2048, 256 * 2048, 256 * 2048, 2048 * 2048, 5632 * 2048, 5632 * 2048, 2048 * 5632, 2048];
		let held = 0;
		let mostHeld = 0;
		// The top of kernel memory, which falls again when its last regions are released: its highest is what was touched.
		let mostUsed = start;
		let writing: { arena: ReturnType<BufferPool["arena"]>; bytes: number } | undefined;
		for (let layer = 0; layer < 4; layer++) {
			for (const elements of tensors) {
				const inputs = pool.arena();
				for (let i = 0; i < 3; i++) {
					inputs.bytes(2 * elements);
				}
				inputs.f32Uninitialised(elements);
				const output = pool.arena();
				output.bytes(2 * elements, 512);
				held += 12 * elements + 4096;
				mostHeld = Math.max(mostHeld, held);
				mostUsed = Math.max(mostUsed, kernelMemory().usedBytes);
				inputs.release();
				held -= 10 * elements;
				if (writing) {
					writing.arena.release();
					held -= writing.bytes;
				}
				writing = { arena: output, bytes: 2 * elements + 4096 };
			}
		}
		// 173 MB for tensors that hold 161 MB at once; buffers kept whole for requests of their size took 223 MB.
		expect(mostUsed - start).toBeLessThanOrEqual(mostHeld * 1.1);
		writing?.arena.release();
		pool.close();
	});

	it("gives a very large buffer back to kernel memory, where smaller requests then take parts of it", () => {
		const pool = new BufferPool(true);
		const embeddings = pool.arena();
		embeddings.bytes(96 << 20);
		const top = kernelMemory().usedBytes;
		embeddings.release();
		// A layer's tensors after an embedding matrix: three of a third of its size fit where it was.
		const layer = pool.arena();
		const parts = [0, 1, 2].map(() => layer.bytes(32 << 20));
		expect(kernelMemory().usedBytes).toBeLessThanOrEqual(top);
		expect(parts.every((part) => kernelMemory().holds(part))).toBe(true);
		layer.release();
		pool.close();
	});
});
