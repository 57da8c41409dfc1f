import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { RANGE_KERNELS, type RangeArgs, type RangeKernelName } from "../methods/kernels/range-kernels.js";
import { type RangeParts, runInParts } from "../methods/kernels/run-range.js";
import { SIMD_SCRATCH_BYTES, simdWasm } from "../methods/kernels/simd/simd-kernels.js";
import { kernelMemory, type MemoryRegion } from "./kernel-memory.js";
import { addChunkSums, evenStarts, type RangeTask, runChunks, shrinkingStarts } from "./run-chunks.js";

/** Below this many elements a kernel runs on the calling thread: handing it over costs more than it saves. */
const MIN_PARALLEL = 1 << 18;
/** Split points are multiples of this, so parts never share a cache line. */
const ALIGN = 64;
/** Chunks per thread a kernel's range is cut into at first, for the threads to take as they come free. */
const CHUNKS_PER_THREAD = 4;
/** The smallest chunk of other kernels, as a share of a thread's: the most a thread waits for another at the end. */
const TAIL_CHUNKS_PER_THREAD = 16;
/**
 * A kernel with this many sums a chunk (the radix histograms, whose sums are counts) gets no more than one chunk per
 * CHUNK_ELEMENTS elements (and at least one per thread): adding up a chunk's sums costs as much as counting a few
 * hundred thousand.
 */
const MANY_SUMS = 1024;
const CHUNK_ELEMENTS = 1 << 20;
/** A worker that has not answered in this long is taken as lost. */
const TIMEOUT_MS = 10 * 60 * 1000;

/** How long the first large kernel waits for the workers to have loaded. */
const STARTUP_MS = 5000;

const WORKER = new URL("./range-worker.js", import.meta.url);

/**
 * Worker threads that share the arithmetic of large tensors. `run` is synchronous, so the merge methods stay
 * synchronous: the calling thread posts the run to each worker, takes chunks of the range as they do, then waits on
 * shared flags (Atomics.wait) for the others. Kernels touch element j only at j, so results do not depend on the split.
 * The workers share this thread's kernel memory, each with a scratch region of its own in it.
 */
export class WorkerPool {
	readonly #workers: Worker[];
	readonly #flags: Int32Array;
	readonly #ready: Int32Array;
	readonly #scratch: MemoryRegion[];
	#started = false;
	#sums: Float64Array = new Float64Array(new SharedArrayBuffer(8));
	/** The next chunk of the running kernel to take. */
	readonly #next: Int32Array;

	private constructor(
		workers: Worker[],
		flags: Int32Array,
		ready: Int32Array,
		next: Int32Array,
		scratch: MemoryRegion[],
	) {
		this.#workers = workers;
		this.#flags = flags;
		this.#ready = ready;
		this.#next = next;
		this.#scratch = scratch;
	}

	/**
	 * A pool of `threads − 1` workers beside the calling thread; undefined where the compiled worker is missing
	 * (sources run directly, as under the test runner), and the merge then runs on one thread.
	 */
	static create(threads: number): WorkerPool | undefined {
		if (threads < 2 || !existsSync(fileURLToPath(WORKER))) {
			return undefined;
		}
		const count = threads - 1;
		const flags = new Int32Array(new SharedArrayBuffer(4 * count));
		const ready = new Int32Array(new SharedArrayBuffer(4 * count));
		const next = new Int32Array(new SharedArrayBuffer(4));
		const memory = kernelMemory();
		const scratch = Array.from({ length: count }, () => {
			const region = memory.allocate(SIMD_SCRATCH_BYTES);
			if (region === undefined) {
				throw new Error("kernel memory is full: no room for the worker threads' scratch");
			}
			return region;
		});
		const workers = scratch.map((region, slot) => {
			const workerData = { flags, ready, next, slot, memory: memory.memory, scratch: region.byteOffset };
			const worker = new Worker(WORKER, { workerData });
			worker.unref();
			return worker;
		});
		// Compiled here once (assembled, or read from the cache: see compileCached) while the workers load their
		// modules, and sent to them as their first message: they instantiate it over the shared memory.
		const wasm = simdWasm();
		for (const worker of workers) {
			worker.postMessage({ wasm });
		}
		return new WorkerPool(workers, flags, ready, next, scratch);
	}

	run(kernel: RangeKernelName, args: RangeArgs, length: number, sumCount: number, parts?: RangeParts): Float64Array {
		const elements = length * (args.elementsPerIndex ?? 1);
		if (!this.#started && elements >= MIN_PARALLEL) {
			// The first large kernel waits (briefly, once) for the workers to load; a worker that never does is left out.
			this.#started = true;
			for (let slot = 0; slot < this.#workers.length; slot++) {
				Atomics.wait(this.#ready, slot, 0, STARTUP_MS);
			}
		}
		const ready = this.#workers.filter((_, slot) => Atomics.load(this.#ready, slot) === 1);
		const shared = args.arrays.every((array) => array.buffer instanceof SharedArrayBuffer);
		if (elements < MIN_PARALLEL || ready.length === 0 || !shared) {
			if (parts) {
				return runInParts({ kernel, args, length, sumCount, parts });
			}
			const sums = new Float64Array(sumCount);
			RANGE_KERNELS[kernel](args, 0, length, sums);
			return sums;
		}
		// The range goes out in chunks, a few per thread, each taken by whichever thread is free next: a thread that
		// the system's I/O threads slow down takes fewer, instead of the others waiting for it. Each chunk's sums are
		// kept apart and added in chunk order, so they do not depend on which thread ran which chunk; counts, which add
		// up exactly in any order, are added by each thread first.
		// The caller's parts, where it keeps their sums, are the chunks.
		const threads = ready.length + 1;
		const align = args.align ?? (args.elementsPerIndex === undefined ? ALIGN : 1);
		const starts = parts
			? evenStarts(length, parts.step)
			: this.#chunkStarts(length, elements, sumCount, threads, align);
		const chunks = starts.length - 1;
		// A histogram's counts, unless the caller keeps its parts', are added up by each thread over its chunks.
		const byThread = sumCount >= MANY_SUMS && !parts;
		const places = byThread ? threads : chunks;
		const chunkSums =
			parts && parts.sums.buffer instanceof SharedArrayBuffer ? parts.sums : this.#sumsFor(sumCount * places);
		const memory = kernelMemory();
		const inKernelMemory = args.arrays.map((array) => memory.holds(array));
		Atomics.store(this.#next, 0, 0);
		const posted: number[] = [];
		const run = { kernel, args, starts, chunks, sums: chunkSums, sumCount };
		for (const worker of ready) {
			const slot = this.#workers.indexOf(worker);
			Atomics.store(this.#flags, slot, 0);
			const task: RangeTask = { ...run, inKernelMemory, slot, ...(byThread ? { threadPlace: posted.length } : {}) };
			worker.postMessage(task);
			posted.push(slot);
		}
		runChunks(this.#next, { ...run, ...(byThread ? { threadPlace: posted.length } : {}) });
		const deadline = Date.now() + TIMEOUT_MS;
		for (const slot of posted) {
			while (Atomics.load(this.#flags, slot) === 0) {
				if (Date.now() > deadline) {
					throw new Error(`a worker thread did not finish ${kernel} within ${TIMEOUT_MS / 1000} s`);
				}
				Atomics.wait(this.#flags, slot, 0, 1000);
			}
			if (Atomics.load(this.#flags, slot) !== 1) {
				throw new Error(`a worker thread failed while running ${kernel}`);
			}
		}
		if (parts && chunkSums !== parts.sums) {
			parts.sums.set(chunkSums.subarray(0, sumCount * chunks));
		}
		return addChunkSums({ chunks: places, sums: chunkSums, sumCount });
	}

	/**
	 * Where the range's chunks start: CHUNKS_PER_THREAD a thread, until half a thread's even share of what is left is
	 * smaller; from there they shrink (see shrinkingStarts) to TAIL_CHUNKS_PER_THREAD a thread, so the threads end a
	 * small chunk apart, where even chunks left one waiting for another's last. A kernel with MANY_SUMS takes even
	 * chunks, fewer of them: adding up a chunk's sums costs as much as counting a few hundred thousand elements.
	 */
	#chunkStarts(length: number, elements: number, sumCount: number, threads: number, align: number): number[] {
		const aligned = (size: number): number => Math.ceil(size / align) * align;
		if (sumCount >= MANY_SUMS) {
			const chunks = Math.min(threads * CHUNKS_PER_THREAD, Math.max(threads, Math.ceil(elements / CHUNK_ELEMENTS)));
			return evenStarts(length, aligned(length / chunks));
		}
		return shrinkingStarts(
			length,
			1 / (2 * threads),
			{
				largest: aligned(length / (threads * CHUNKS_PER_THREAD)),
				tail: aligned(length / (threads * TAIL_CHUNKS_PER_THREAD)),
			},
			align,
		);
	}

	/**
	 * Where the chunks leave their counts: one buffer kept for the pool's life and grown when a kernel needs more (the
	 * radix histograms' 65536 counts a chunk), since fresh memory costs more here than the counting. Each chunk
	 * overwrites its own place whole, so it needs no clearing.
	 */
	#sumsFor(length: number): Float64Array {
		if (this.#sums.length < Math.max(1, length)) {
			this.#sums = new Float64Array(new SharedArrayBuffer(8 * Math.max(1, length)));
		}
		return this.#sums;
	}

	async close(): Promise<void> {
		await Promise.all(this.#workers.map((worker) => worker.terminate()));
		const memory = kernelMemory();
		for (const region of this.#scratch.splice(0)) {
			memory.release(region);
		}
	}
}
