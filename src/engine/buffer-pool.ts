import type { ScratchAllocator } from "../methods/kernels/scratch.js";
import type { FilePlace } from "../safetensors/safetensors-file.js";
import { HUGE_PAGE, hugePages } from "./huge-pages.js";
import { kernelMemory, type MemoryRegion } from "./kernel-memory.js";
import { type MappedRegion, mappedReads } from "./mapped-reads.js";
import { smallestFitting } from "./smallest-fitting.js";

/** The page size that direct I/O aligns to. */
const PAGE = 4096;

/** A stretch of memory the pool hands out whole: a region of kernel memory, or a plain buffer of its own. */
interface PoolBuffer {
	readonly buffer: ArrayBuffer | SharedArrayBuffer;
	readonly byteOffset: number;
	readonly byteLength: number;
	/** Whether it is a region of kernel memory, given back to it when released. */
	readonly inKernelMemory: boolean;
}

/** Requests up to this size are served from plain buffers up to this size (see BufferPool.take). */
const SMALL_REQUEST = 1 << 20;

/**
 * Memory reused from tensor to tensor. On these machines writing into freshly allocated memory costs about a hundred
 * times more than into memory already touched (first-touch page faults), so a merge should take its tensors' reads,
 * scratch and outputs out of memory that earlier tensors released.
 *
 * Buffers are regions of kernel memory, where the WebAssembly kernels work on them in place and worker threads
 * share them. A released region goes straight back to kernel memory, which joins it with its free neighbours and
 * cuts later requests out of the smallest free range that holds them: a merge's requests come in many sizes (each
 * tensor's bytes as stored, its outputs a page larger, float32 scratch twice its size), and buffers kept whole for
 * requests of their own size were too often too small or much too large, so that kernel memory kept growing through
 * the layers (full-size slerp 0.37 GB of it by the end, ties 0.45 GB of resident memory; see the README). Past
 * wasm32's 4 GiB, buffers are plain ones (SharedArrayBuffers when worker threads share the work), which the pool
 * keeps whole for later requests.
 */
export class BufferPool {
	readonly shared: boolean;
	/** Plain buffers given back, for later requests. */
	readonly #free: PoolBuffer[] = [];
	/** Every buffer held now, and the plain ones free. */
	readonly #all = new Set<PoolBuffer>();

	constructor(shared: boolean) {
		this.shared = shared;
	}

	/**
	 * A region of kernel memory, else the smallest free plain buffer of at least `bytes`, else a new one. A small
	 * request is not given a large plain buffer: that would leave a later large request to allocate (and touch) a new
	 * one, and the pool would keep both.
	 */
	take(bytes: number): PoolBuffer {
		const region = kernelMemory().allocate(bytes);
		const buffer = region ? { ...region, inKernelMemory: true } : (this.#freePlain(bytes) ?? this.#newPlain(bytes));
		this.#all.add(buffer);
		return buffer;
	}

	#freePlain(bytes: number): PoolBuffer | undefined {
		const best = smallestFitting(this.#free, (buffer) => buffer.byteLength, bytes);
		if (best < 0 || ((this.#free[best] as PoolBuffer).byteLength > SMALL_REQUEST && bytes <= SMALL_REQUEST)) {
			return undefined;
		}
		return this.#free.splice(best, 1)[0];
	}

	#newPlain(bytes: number): PoolBuffer {
		// At least 8 bytes and a multiple of 8, so that every typed view fits and is aligned.
		const size = Math.max(8, Math.ceil(bytes / 8) * 8);
		const buffer = this.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
		if (size >= HUGE_PAGE) {
			hugePages().advise(new Uint8Array(buffer), size);
		}
		return { buffer, byteOffset: 0, byteLength: size, inKernelMemory: false };
	}

	/** Takes a buffer back: a region of kernel memory returns to it, a plain buffer waits for a later request. */
	give(buffer: PoolBuffer): void {
		if (buffer.inKernelMemory) {
			this.#all.delete(buffer);
			kernelMemory().release(buffer as MemoryRegion);
			return;
		}
		this.#free.push(buffer);
	}

	/** A set of buffers released together: one tensor's, once it has been written. */
	arena(): PoolArena {
		return new PoolArena(this);
	}

	/** Gives the regions of kernel memory still held back, once nothing uses any of the pool's buffers. */
	close(): void {
		const memory = kernelMemory();
		for (const buffer of this.#all) {
			if (buffer.inKernelMemory) {
				memory.release(buffer as MemoryRegion);
			}
		}
		this.#all.clear();
		this.#free.length = 0;
	}
}

export class PoolArena implements ScratchAllocator {
	readonly #pool: BufferPool;
	readonly #held: PoolBuffer[] = [];
	/** Input bytes mapped from their files (see MappedReads), with the views that hold them. */
	readonly #mapped: { region: MappedRegion; bytes: Uint8Array }[] = [];

	constructor(pool: BufferPool) {
		this.#pool = pool;
	}

	#take(bytes: number): PoolBuffer {
		const buffer = this.#pool.take(bytes);
		this.#held.push(buffer);
		return buffer;
	}

	/**
	 * Uninitialised bytes (for reads and encodes that overwrite them whole). With `phase`, they start at a memory
	 * address that is `phase` past a multiple of 4096 (for a region of kernel memory, whose base is page-aligned), so
	 * that a file writer can send their whole blocks straight to disk (see ShardWriter.blockPhase).
	 */
	bytes(length: number, phase?: number): Uint8Array {
		if (phase === undefined) {
			const { buffer, byteOffset } = this.#take(length);
			return new Uint8Array(buffer, byteOffset, length);
		}
		const { buffer, byteOffset } = this.#take(length + PAGE);
		return new Uint8Array(buffer, byteOffset + ((((phase - byteOffset) % PAGE) + PAGE) % PAGE), length);
	}

	/**
	 * A file's bytes mapped into kernel memory, held until this arena is released; undefined where they are to be read
	 * instead (see MappedReads.map).
	 */
	mapped(place: FilePlace, alignment: number): Uint8Array | undefined {
		const mapping = mappedReads().map(place, alignment);
		if (mapping === undefined) {
			return undefined;
		}
		this.#mapped.push(mapping);
		return mapping.bytes;
	}

	/** Float32 values that will be overwritten whole (decoded inputs). */
	f32Uninitialised(length: number): Float32Array {
		const { buffer, byteOffset } = this.#take(length * 4);
		return new Float32Array(buffer, byteOffset, length);
	}

	f32(length: number): Float32Array {
		return this.f32Uninitialised(length).fill(0);
	}

	f64(length: number): Float64Array {
		const { buffer, byteOffset } = this.#take(length * 8);
		return new Float64Array(buffer, byteOffset, length).fill(0);
	}

	u32(length: number): Uint32Array {
		const { buffer, byteOffset } = this.#take(length * 4);
		return new Uint32Array(buffer, byteOffset, length).fill(0);
	}

	/** Gives one view's buffer back early (raw bytes once decoded), so that later requests of this tensor reuse it. */
	free(view: ArrayBufferView): void {
		const mapped = this.#mapped.findIndex(
			({ bytes }) =>
				bytes.buffer === view.buffer &&
				view.byteOffset >= bytes.byteOffset &&
				view.byteOffset < bytes.byteOffset + bytes.byteLength,
		);
		if (mapped >= 0) {
			for (const { region } of this.#mapped.splice(mapped, 1)) {
				mappedReads().give(region);
			}
			return;
		}
		const at = this.#held.findIndex(
			(held) =>
				held.buffer === view.buffer &&
				view.byteOffset >= held.byteOffset &&
				view.byteOffset < held.byteOffset + held.byteLength,
		);
		if (at >= 0) {
			const [buffer] = this.#held.splice(at, 1);
			this.#pool.give(buffer as PoolBuffer);
		}
	}

	/** Gives every buffer back to the pool; views taken from this arena must not be used afterwards. */
	release(): void {
		for (const buffer of this.#held.splice(0)) {
			this.#pool.give(buffer);
		}
		for (const { region } of this.#mapped.splice(0)) {
			mappedReads().give(region);
		}
	}
}
