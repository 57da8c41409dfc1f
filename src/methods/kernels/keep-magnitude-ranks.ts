import type { MergeContext } from "../merge-method.js";
import { magnitudeAtRank } from "./magnitude-at-rank.js";
import { KEEP_BLOCK } from "./range-kernels.js";
import { runRange } from "./run-range.js";
import { HEAP_SCRATCH } from "./scratch.js";

/** Larger than any magnitude bit pattern (NaN included), so it never bounds anything. */
const ABOVE_ALL = 0x80000000;

/**
 * Zeroes, in place, every element outside descending magnitude ranks [from, to): rank 0 is the largest |x|,
 * and equal magnitudes are ranked by lowest index first, so exactly `to − from` elements keep their value.
 * Linear time: two radix selections find the boundary magnitudes, one pass applies them. Where the context has
 * worker threads, every pass is split across them: elements equal to a boundary need to know how many equal ones
 * come before them, so those are first counted per block (the keep-magnitude-ties kernel) and the blocks' running
 * totals handed to the pass that applies the boundaries.
 */
export function keepMagnitudeRanks(
	values: Float32Array,
	from: number,
	to: number,
	context: Pick<MergeContext, "parallel" | "alloc"> = {},
): void {
	const n = values.length;
	const lo = Math.max(0, from);
	const hi = Math.min(n, to);
	if (lo >= hi) {
		values.fill(0);
		return;
	}
	if (lo === 0 && hi === n) {
		return;
	}
	// Upper boundary: of the elements whose magnitude equals `upperBits`, the first `upperSkip` rank above `from`.
	let upperBits = ABOVE_ALL;
	let upperSkip = 0;
	let upperTies = false;
	if (lo > 0) {
		const upper = magnitudeAtRank(values, lo, context);
		upperBits = upper.bits;
		upperSkip = lo - upper.greater;
		upperTies = upperSkip > 0;
	}
	// Lower boundary: of the elements whose magnitude equals `lowerBits`, the first `lowerKeep` rank below `to`.
	let lowerBits = -1;
	let lowerKeep = 0;
	let lowerTies = false;
	if (hi < n) {
		const lower = magnitudeAtRank(values, hi - 1, context);
		lowerBits = lower.bits;
		lowerKeep = hi - lower.greater;
		lowerTies = lowerKeep < lower.equal;
	}
	const blocks = Math.ceil(n / KEEP_BLOCK);
	// Per block: how many elements equal the upper and the lower boundary come before it.
	const before = (context.alloc ?? HEAP_SCRATCH).f64(2 * blocks);
	// The same decisions as indices: upper ties are kept from `upperCut` on, lower ties before `lowerCut`.
	let upperCut = 0;
	let lowerCut = n;
	if (upperTies || lowerTies) {
		const args = { arrays: [values, before], numbers: [upperBits, lowerBits], align: KEEP_BLOCK };
		runRange(context, "count-magnitude-ties", args, n);
		let upperSeen = 0;
		let lowerSeen = 0;
		for (let block = 0; block < blocks; block++) {
			const upperHere = before[2 * block] as number;
			const lowerHere = before[2 * block + 1] as number;
			before[2 * block] = upperSeen;
			before[2 * block + 1] = lowerSeen;
			upperSeen += upperHere;
			lowerSeen += lowerHere;
		}
		upperCut = upperTies ? tieIndex(values, upperBits, upperSkip, before, 0) : 0;
		lowerCut = lowerTies ? tieIndex(values, lowerBits, lowerKeep, before, 1) : n;
	}
	runRange(
		context,
		"keep-magnitude-ranks",
		{
			arrays: [values, before],
			numbers: [upperBits, upperSkip, lowerBits, lowerKeep, upperCut, lowerCut],
			align: KEEP_BLOCK,
		},
		n,
	);
}

/**
 * The index of the element of magnitude `bits` that has `ordinal` such elements before it, found from the counts of
 * them before each block (`before[2·block + which]`) and a scan of the one block that holds it; n where there are
 * not that many.
 */
export function tieIndex(
	values: Float32Array,
	bits: number,
	ordinal: number,
	before: Float64Array,
	which: 0 | 1,
): number {
	const blocks = Math.ceil(values.length / KEEP_BLOCK);
	let block = 0;
	while (block + 1 < blocks && (before[2 * (block + 1) + which] as number) <= ordinal) {
		block++;
	}
	const raw = new Uint32Array(values.buffer, values.byteOffset, values.length);
	let seen = before[2 * block + which] as number;
	for (let j = block * KEEP_BLOCK; j < values.length; j++) {
		if (((raw[j] as number) & 0x7fffffff) === bits) {
			if (seen === ordinal) {
				return j;
			}
			seen++;
		}
	}
	return values.length;
}
