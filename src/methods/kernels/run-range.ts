import type { MergeContext } from "../merge-method.js";
import { RANGE_KERNELS, type RangeArgs, type RangeKernelName } from "./range-kernels.js";

/**
 * Runs a range kernel over [0, length): split across the executor's worker threads where it has them, else here.
 * Returns the kernel's `sumCount` counts, added over the parts.
 */
export function runRange(
	context: Pick<MergeContext, "parallel">,
	kernel: RangeKernelName,
	args: RangeArgs,
	length: number,
	sumCount = 0,
): Float64Array {
	if (context.parallel) {
		return context.parallel(kernel, args, length, sumCount);
	}
	const sums = new Float64Array(sumCount);
	RANGE_KERNELS[kernel](args, 0, length, sums);
	return sums;
}
