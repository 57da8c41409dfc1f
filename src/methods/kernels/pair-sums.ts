import type { MergeContext } from "../merge-method.js";
import { PAIR_BLOCK, type RangeArray } from "./range-kernels.js";
import { runRange } from "./run-range.js";
import { HEAP_SCRATCH } from "./scratch.js";

/**
 * ‖a‖², ‖b‖² and ⟨a, b⟩ over n elements in float64, across the worker threads where the context has them: the
 * pair-sums kernel sums each PAIR_BLOCK, and the blocks are added here in order, so the result does not depend on
 * the number of threads. a and b are both float32 values or both bfloat16 bits; given `less` (of their kind), the sums
 * are of a − less and b − less, rounded to float32. Added on to `running` where given: the sums of the rows before
 * these, whose blocks' sums were added in the same order (see MergeMethod.blockSums).
 */
export function pairSums(
	a: RangeArray,
	b: RangeArray,
	n: number,
	context: Pick<MergeContext, "parallel" | "alloc">,
	less?: RangeArray,
	running?: ArrayLike<number>,
): [number, number, number] {
	const blocks = Math.ceil(n / PAIR_BLOCK);
	const sums = (context.alloc ?? HEAP_SCRATCH).f64(3 * blocks);
	const arrays = [a, b, sums, ...(less ? [less] : [])];
	runRange(context, "pair-sums", { arrays, numbers: [], align: PAIR_BLOCK }, n);
	const total: [number, number, number] = running ? [running[0] ?? 0, running[1] ?? 0, running[2] ?? 0] : [0, 0, 0];
	for (let block = 0; block < blocks; block++) {
		for (let i = 0; i < 3; i++) {
			total[i] = (total[i] as number) + (sums[3 * block + i] as number);
		}
	}
	return total;
}

/**
 * pairSums of the whole tensor: those the executor summed over its blocks of rows where it merges it so
 * (MergeContext.tensorSums), else summed here.
 */
export function tensorPairSums(
	a: RangeArray,
	b: RangeArray,
	n: number,
	context: Pick<MergeContext, "parallel" | "alloc" | "tensorSums">,
	less?: RangeArray,
): [number, number, number] {
	const given = context.tensorSums;
	return given ? [given[0] ?? 0, given[1] ?? 0, given[2] ?? 0] : pairSums(a, b, n, context, less);
}
