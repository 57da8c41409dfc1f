import { RANGE_KERNELS, type RangeArgs, type RangeKernelName } from "../methods/kernels/range-kernels.js";

/** One range kernel's run, cut into chunks of `step` indices that the threads take one at a time. */
export interface ChunkedRun {
	kernel: RangeKernelName;
	args: RangeArgs;
	length: number;
	step: number;
	chunks: number;
	/** Each chunk's sums, `sumCount` of them at chunk · sumCount. */
	sums: Float64Array;
	sumCount: number;
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
	for (let chunk = Atomics.add(next, 0, 1); chunk < run.chunks; chunk = Atomics.add(next, 0, 1)) {
		sums.fill(0);
		const start = chunk * run.step;
		RANGE_KERNELS[run.kernel](run.args, start, Math.min(run.length, start + run.step), sums);
		run.sums.set(sums, chunk * run.sumCount);
	}
}

/** The totals of a chunked run's sums, added chunk by chunk in order. */
export function addChunkSums(run: Pick<ChunkedRun, "chunks" | "sums" | "sumCount">): Float64Array {
	const sums = new Float64Array(run.sumCount);
	for (let chunk = 0; chunk < run.chunks; chunk++) {
		const at = chunk * run.sumCount;
		for (let k = 0; k < run.sumCount; k++) {
			sums[k] = (sums[k] as number) + (run.sums[at + k] as number);
		}
	}
	return sums;
}
