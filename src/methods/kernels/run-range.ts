import { addChunkSums, type ChunkedRun, evenStarts, runChunks } from "../../engine/run-chunks.js";
import type { MergeContext } from "../merge-method.js";
import { RANGE_KERNELS, type RangeArgs, type RangeKernelName } from "./range-kernels.js";

/**
 * A run cut into parts of `step` indices, each of which leaves its own sums: part p's `sumCount` sums at p · sumCount
 * of `sums` (a shared buffer, so that worker threads write there directly). The totals are added part by part in
 * order. The radix select keeps its parts' histograms, to find where in the tensor a boundary's ties fall.
 */
export interface RangeParts {
	step: number;
	sums: Float64Array;
}

/**
 * Runs a range kernel over [0, length): split across the executor's worker threads where it has them, else here.
 * Returns the kernel's `sumCount` counts, added over the parts (and each part's own in `parts`, where given).
 */
export function runRange(
	context: Pick<MergeContext, "parallel">,
	kernel: RangeKernelName,
	args: RangeArgs,
	length: number,
	sumCount = 0,
	parts?: RangeParts,
): Float64Array {
	if (context.parallel) {
		return context.parallel(kernel, args, length, sumCount, parts);
	}
	if (parts) {
		return runInParts({ kernel, args, length, sumCount, parts });
	}
	const sums = new Float64Array(sumCount);
	RANGE_KERNELS[kernel](args, 0, length, sums);
	return sums;
}

/** Runs a kernel here part after part (see RangeParts); returns the totals. */
export function runInParts(run: {
	kernel: RangeKernelName;
	args: RangeArgs;
	length: number;
	sumCount: number;
	parts: RangeParts;
}): Float64Array {
	const chunked: ChunkedRun = {
		kernel: run.kernel,
		args: run.args,
		starts: evenStarts(run.length, run.parts.step),
		chunks: Math.ceil(run.length / run.parts.step),
		sums: run.parts.sums,
		sumCount: run.sumCount,
	};
	runChunks(new Int32Array(1), chunked);
	return addChunkSums(chunked);
}
