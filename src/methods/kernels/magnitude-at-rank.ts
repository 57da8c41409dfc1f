import type { MergeContext } from "../merge-method.js";
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
 * Finds the magnitude at descending rank `rank` (0 = the largest |x|) in linear time, without sorting:
 * the bit patterns of non-negative floats sort like unsigned integers, so a two-pass radix select
 * (high 16 bits, then low 16 bits within the chosen bucket) pins it down; for bfloat16 values the first pass
 * alone does. NaN counts as the largest.
 * Both histograms are counted across the worker threads where the context has them (counts add in any order).
 */
export function magnitudeAtRank(
	values: Float32Array,
	rank: number,
	context: Pick<MergeContext, "parallel"> = {},
): MagnitudeRank {
	const n = values.length;
	if (!(Number.isInteger(rank) && rank >= 0 && rank < n)) {
		throw new RangeError(`rank ${rank} is outside [0, ${n})`);
	}
	const high = runRange(context, "magnitude-histogram", { arrays: [values], numbers: [-1] }, n, 65537);
	let greater = 0;
	let top = 65535;
	for (; top > 0; top--) {
		const count = high[top] as number;
		if (greater + count > rank) {
			break;
		}
		greater += count;
	}
	// Where no element has low bits set (bfloat16 values), the whole bucket sits at low bits 0: no second pass.
	const low =
		high[65536] === 0
			? Float64Array.of(high[top] as number)
			: runRange(context, "magnitude-histogram", { arrays: [values], numbers: [top] }, n, 65536);
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
