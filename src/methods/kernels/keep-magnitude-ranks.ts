import type { MergeContext } from "../merge-method.js";
import { magnitudeAtRankOf, magnitudeHistogramOf } from "./magnitude-at-rank.js";
import { histogramSums } from "./magnitude-buckets.js";
import { KEEP_BLOCK, type RangeArray } from "./range-kernels.js";
import { runRange } from "./run-range.js";
import { HEAP_SCRATCH, type ScratchAllocator } from "./scratch.js";
import { ABOVE_ALL, type BlockCut, taskVectorValues } from "./simd/task-arithmetic-simd.js";

/**
 * Magnitudes to rank: a tensor's values, or the task vectors of a bf16 merge made block by block as they are needed
 * (the one-pass TIES, which never stores them).
 */
export interface MagnitudeSource {
	readonly length: number;
	/** The radix select's histogram (see magnitudeAtRankOf). */
	histogram(high: number): Float64Array;
	/** Counts per KEEP_BLOCK the elements equal to each boundary, into counts[2·block] and counts[2·block + 1]. */
	countTies(upperBits: number, lowerBits: number, counts: Float64Array): void;
	/** The values of KEEP_BLOCK block `block`. */
	block(block: number): Float32Array;
}

/** Where descending magnitude ranks [from, to) begin and end, ties at each boundary decided by index. */
export interface RankCut {
	/** The magnitude bits of the upper boundary (ABOVE_ALL for none), and how many equal to it are dropped. */
	upperBits: number;
	upperSkip: number;
	/** The magnitude bits of the lower boundary (−1 for none), and how many equal to it are kept. */
	lowerBits: number;
	lowerKeep: number;
	/** The same as indices: upper ties are kept from `upperCut` on, lower ties before `lowerCut`. */
	upperCut: number;
	lowerCut: number;
	/** Per block: how many elements equal the upper and the lower boundary come before it. */
	before: Float64Array;
}

/** A cut of n elements that keeps every one: no boundary above or below. */
export function keepAllCut(n: number): BlockCut {
	return { upperBits: ABOVE_ALL, lowerBits: -1, upperCut: 0, lowerCut: n };
}

/** A cut of n elements that keeps none: the upper boundary at 0, its ties kept only from n on. */
export function keepNoneCut(n: number): BlockCut {
	return { upperBits: 0, lowerBits: -1, upperCut: n, lowerCut: n };
}

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
	const cut = rankCut(valuesSource(values, context), lo, hi, context.alloc ?? HEAP_SCRATCH);
	runRange(
		context,
		"keep-magnitude-ranks",
		{
			arrays: [values, cut.before],
			numbers: [cut.upperBits, cut.upperSkip, cut.lowerBits, cut.lowerKeep, cut.upperCut, cut.lowerCut],
			align: KEEP_BLOCK,
		},
		n,
	);
}

/** The boundaries of descending ranks [from, to) of `source`'s magnitudes, 0 ≤ from < to ≤ length. */
export function rankCut(source: MagnitudeSource, from: number, to: number, scratch: ScratchAllocator): RankCut {
	const n = source.length;
	// Both boundaries start from the same histogram of the top bits: it is counted once.
	let top: Float64Array | undefined;
	const histogram = (high: number): Float64Array => {
		if (high >= 0) {
			return source.histogram(high);
		}
		top ??= source.histogram(-1);
		return top;
	};
	// Upper boundary: of the elements whose magnitude equals `upperBits`, the first `upperSkip` rank above `from`.
	let upperBits = ABOVE_ALL;
	let upperSkip = 0;
	if (from > 0) {
		const upper = magnitudeAtRankOf(n, from, histogram);
		upperBits = upper.bits;
		upperSkip = from - upper.greater;
	}
	// Lower boundary: of the elements whose magnitude equals `lowerBits`, the first `lowerKeep` rank below `to`.
	let lowerBits = -1;
	let lowerKeep = 0;
	let lowerTies = false;
	if (to < n) {
		const lower = magnitudeAtRankOf(n, to - 1, histogram);
		lowerBits = lower.bits;
		lowerKeep = to - lower.greater;
		lowerTies = lowerKeep < lower.equal;
	}
	const upperTies = upperSkip > 0;
	const blocks = Math.ceil(n / KEEP_BLOCK);
	const before = scratch.f64(2 * blocks);
	let upperCut = 0;
	let lowerCut = n;
	if (upperTies || lowerTies) {
		source.countTies(upperBits, lowerBits, before);
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
		upperCut = upperTies ? tieIndex(source, upperBits, upperSkip, before, 0) : 0;
		lowerCut = lowerTies ? tieIndex(source, lowerBits, lowerKeep, before, 1) : n;
	}
	return { upperBits, upperSkip, lowerBits, lowerKeep, upperCut, lowerCut, before };
}

/**
 * The index of the element of magnitude `bits` that has `ordinal` such elements before it, found from the counts of
 * them before each block (`before[2·block + which]`) and a scan of the one block that holds it; n where there are
 * not that many.
 */
function tieIndex(source: MagnitudeSource, bits: number, ordinal: number, before: Float64Array, which: 0 | 1): number {
	const blocks = Math.ceil(source.length / KEEP_BLOCK);
	let block = 0;
	while (block + 1 < blocks && (before[2 * (block + 1) + which] as number) <= ordinal) {
		block++;
	}
	const values = source.block(block);
	const raw = new Uint32Array(values.buffer, values.byteOffset, values.length);
	let seen = before[2 * block + which] as number;
	for (let j = 0; j < raw.length; j++) {
		if (((raw[j] as number) & 0x7fffffff) === bits) {
			if (seen === ordinal) {
				return block * KEEP_BLOCK + j;
			}
			seen++;
		}
	}
	return source.length;
}

/** A tensor's values as a magnitude source. */
export function valuesSource(values: Float32Array, context: Pick<MergeContext, "parallel">): MagnitudeSource {
	const n = values.length;
	return {
		length: n,
		histogram: magnitudeHistogramOf(values, context),
		countTies: (upperBits, lowerBits, counts) => {
			const args = { arrays: [values, counts], numbers: [upperBits, lowerBits], align: KEEP_BLOCK };
			runRange(context, "count-magnitude-ties", args, n);
		},
		block: (block) => values.subarray(block * KEEP_BLOCK, Math.min(n, (block + 1) * KEEP_BLOCK)),
	};
}

/**
 * The task vector δ = round(x − b) of a bf16 merge as a magnitude source, made block by block and never stored
 * whole (SIMD kernels only).
 */
export function taskVectorSource(
	x: RangeArray,
	b: RangeArray,
	context: Pick<MergeContext, "parallel">,
): MagnitudeSource {
	const n = b.length;
	return {
		length: n,
		histogram: (high) =>
			runRange(context, "task-vector-histogram", { arrays: [x, b], numbers: [high] }, n, histogramSums(high)),
		countTies: (upperBits, lowerBits, counts) => {
			const args = { arrays: [x, b, counts], numbers: [upperBits, lowerBits], align: KEEP_BLOCK };
			runRange(context, "task-vector-count-ties", args, n);
		},
		block: (block) => taskVectorValues(x, b, block * KEEP_BLOCK, Math.min(n, (block + 1) * KEEP_BLOCK)),
	};
}
