import type { MergeContext } from "../merge-method.js";
import { histogramSums, TOP_BUCKETS } from "./magnitude-buckets.js";
import { runRange } from "./run-range.js";

/** Where a rank falls among the magnitudes of a tensor. */
export interface MagnitudeRank {
	/** The bit pattern of |x| (sign bit cleared) of the element at that rank. */
	bits: number;
	/** How many elements have a strictly larger magnitude. */
	greater: number;
	/** How many elements have exactly this magnitude. */
	equal: number;
}

/**
 * The radix select's histogram of a tensor's magnitudes (see magnitudeAtRankOf), counted across the worker threads
 * where the context has them (counts add in any order).
 */
export function magnitudeHistogramOf(
	values: Float32Array,
	context: Pick<MergeContext, "parallel"> = {},
): (high: number) => Float64Array {
	return (high) =>
		runRange(context, "magnitude-histogram", { arrays: [values], numbers: [high] }, values.length, histogramSums(high));
}

/**
 * Finds the magnitude at descending rank `rank` (0 = the largest |x|) in linear time, without sorting:
 * the bit patterns of non-negative floats sort like unsigned integers, so a two-pass radix select
 * (high 16 bits, then low 16 bits within the chosen bucket) pins it down; for bfloat16 values the first pass
 * alone does. NaN counts as the largest. `histogram` counts the n magnitudes: with high −1, the counts of their top 16 bits and, at TOP_BUCKETS, how
 * many have low bits set; else the counts of the low 16 bits of those whose top 16 bits are `high`.
 */
export function magnitudeAtRankOf(n: number, rank: number, histogram: (high: number) => Float64Array): MagnitudeRank {
	if (!(Number.isInteger(rank) && rank >= 0 && rank < n)) {
		throw new RangeError(`rank ${rank} is outside [0, ${n})`);
	}
	const high = histogram(-1);
	const { top, greater: aboveTop } = topBucketAt(high, rank);
	let greater = aboveTop;
	// Where no element has low bits set (bfloat16 values), the whole bucket sits at low bits 0: no second pass.
	const low = high[TOP_BUCKETS] === 0 ? Float64Array.of(high[top] as number) : histogram(top);
	let bottom = low.length - 1;
	for (; bottom > 0; bottom--) {
		const count = low[bottom] as number;
		if (greater + count > rank) {
			break;
		}
		greater += count;
	}
	return { bits: ((top << 16) | bottom) >>> 0, greater, equal: low[bottom] as number };
}

/**
 * The first pass of magnitudeAtRankOf: the top 16 bits of the magnitude at descending rank `rank`, from the top
 * histogram `high`, and how many elements lie in the buckets above.
 */
export function topBucketAt(high: Float64Array, rank: number): { top: number; greater: number } {
	let greater = 0;
	let top = TOP_BUCKETS - 1;
	for (; top > 0; top--) {
		const count = high[top] as number;
		if (greater + count > rank) {
			break;
		}
		greater += count;
	}
	return { top, greater };
}
