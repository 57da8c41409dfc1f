import { RANGE_KERNELS, type RangeArgs, type RangeKernelName } from "../methods/kernels/range-kernels.js";

/** One range kernel's run, cut into chunks that the threads take one at a time. */
export interface ChunkedRun {
	kernel: RangeKernelName;
	args: RangeArgs;
	/** Where each chunk starts, then the range's end: chunk c is [starts[c], starts[c + 1]). */
	starts: readonly number[];
	chunks: number;
	/** Each chunk's sums, `sumCount` of them at chunk · sumCount; or each thread's (see threadPlace). */
	sums: Float64Array;
	sumCount: number;
	/**
	 * Where this thread leaves its sums, added over every chunk it took, instead of each chunk's apart: for counts,
	 * which add up exactly in any order, so that the many sums of a histogram are added once a thread.
	 */
	threadPlace?: number;
}

/** A worker's share of a chunked run: the run, and where it says it is done. */
export interface RangeTask extends ChunkedRun {
	/** Which of `args.arrays` lie in the kernel memory (arrays arrive as new objects, so the sender says). */
	inKernelMemory: boolean[];
	/** This worker's slot in the pool's flags. */
	slot: number;
}

/** This thread's sums of one chunk, reused from chunk to chunk: fresh memory costs more here than clearing it. */
let chunkSums = new Float64Array(0);

/** Takes chunks of `run` (through the shared counter `next`) and runs them until none is left. */
export function runChunks(next: Int32Array, run: ChunkedRun): void {
	if (chunkSums.length < run.sumCount) {
		chunkSums = new Float64Array(run.sumCount);
	}
	const sums = chunkSums.subarray(0, run.sumCount);
	const byThread = run.threadPlace !== undefined;
	sums.fill(0);
	for (let chunk = Atomics.add(next, 0, 1); chunk < run.chunks; chunk = Atomics.add(next, 0, 1)) {
		RANGE_KERNELS[run.kernel](run.args, run.starts[chunk] as number, run.starts[chunk + 1] as number, sums);
		if (!byThread) {
			run.sums.set(sums, chunk * run.sumCount);
			sums.fill(0);
		}
	}
	if (byThread) {
		run.sums.set(sums, (run.threadPlace as number) * run.sumCount);
	}
}

/** The starts of chunks of `step` indices over [0, length), and its end (see ChunkedRun). */
export function evenStarts(length: number, step: number): number[] {
	const starts = [];
	for (let start = 0; start < length; start += step) {
		starts.push(start);
	}
	starts.push(length);
	return starts;
}

/**
 * The starts of chunks over [0, length) that shrink as the range is taken: each a `share` of what is left, but no
 * more than `largest` and no less than `tail` indices (all multiples of `align`). Threads that take them as they come
 * free end close together, a small chunk apart, with few chunks in all.
 */
export function shrinkingStarts(
	length: number,
	share: number,
	sizes: { largest: number; tail: number },
	align: number,
): number[] {
	const starts = [];
	for (let start = 0; start < length; ) {
		starts.push(start);
		const size = Math.ceil(((length - start) * share) / align) * align;
		start = Math.min(length, start + Math.max(sizes.tail, Math.min(sizes.largest, size)));
	}
	starts.push(length);
	return starts;
}

/** The totals of a chunked run's sums, added chunk by chunk (or thread by thread) in order. */
export function addChunkSums(run: Pick<ChunkedRun, "chunks" | "sums" | "sumCount">): Float64Array {
	const n = run.sumCount;
	const sums = run.chunks > 0 ? run.sums.slice(0, n) : new Float64Array(n);
	for (let chunk = 1; chunk < run.chunks; chunk++) {
		const part = run.sums.subarray(chunk * n, chunk * n + n);
		for (let k = 0; k < n; k++) {
			sums[k] = (sums[k] as number) + (part[k] as number);
		}
	}
	return sums;
}
