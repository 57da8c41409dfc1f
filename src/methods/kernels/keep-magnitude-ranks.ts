import type { MergeContext } from "../merge-method.js";
import {
	type MagnitudeRank,
	magnitudeAtRankInBand,
	magnitudeAtRankOf,
	magnitudeHistogramOf,
} from "./magnitude-at-rank.js";
import { histogramSums, TOP_BUCKETS, TOP_SUMS } from "./magnitude-buckets.js";
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
	/** The magnitude at a descending rank found a faster way than the radix select, where the source can. */
	rankOf?(rank: number): MagnitudeRank | undefined;
	/** Counts per KEEP_BLOCK the elements equal to each boundary, into counts[2·block] and counts[2·block + 1]. */
	countTies(upperBits: number, lowerBits: number, counts: Float64Array): void;
	/** The values of KEEP_BLOCK block `block`. */
	block(block: number): Float32Array;
	/**
	 * The index of the element of magnitude `bits` with `ordinal` such elements before it (length where there are
	 * not that many), found without counting ties over the whole tensor; undefined where the source cannot tell.
	 */
	tieIndex?(bits: number, ordinal: number, scratch: ScratchAllocator): number | undefined;
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
	return countedCut(source, rankBoundaries(source, from, to), scratch);
}

/** A cut whose boundaries' ties are counted per block over the whole tensor. */
function countedCut(source: MagnitudeSource, bounds: RankBoundaries, scratch: ScratchAllocator): RankCut {
	const before = tiesBefore(source, bounds.upperTies || bounds.lowerTies, bounds, scratch);
	const upperCut = bounds.upperTies ? tieIndex(source, bounds.upperBits, bounds.upperSkip, before, 0) : 0;
	const lowerCut = bounds.lowerTies ? tieIndex(source, bounds.lowerBits, bounds.lowerKeep, before, 1) : source.length;
	return { ...bounds, upperCut, lowerCut, before };
}

/**
 * The same cut as index cuts alone (what the one-pass TIES applies block by block): each boundary's ties are found
 * where the source's parts put them (see MagnitudeSource.tieIndex), else counted over the whole tensor.
 */
export function blockCut(source: MagnitudeSource, from: number, to: number, scratch: ScratchAllocator): BlockCut {
	const bounds = rankBoundaries(source, from, to);
	let upperCut = bounds.upperTies ? source.tieIndex?.(bounds.upperBits, bounds.upperSkip, scratch) : 0;
	let lowerCut = bounds.lowerTies ? source.tieIndex?.(bounds.lowerBits, bounds.lowerKeep, scratch) : source.length;
	if (upperCut === undefined || lowerCut === undefined) {
		({ upperCut, lowerCut } = countedCut(source, bounds, scratch));
	}
	return { upperBits: bounds.upperBits, lowerBits: bounds.lowerBits, upperCut, lowerCut };
}

/**
 * blockCut for a block of rows of a tensor whose top histogram was counted block by block beforehand, the cut's
 * indices local to the block: `top` the whole tensor's top histogram (of magnitudes without low bits) and `length`
 * its size; `tiesBefore(bucket)` how many elements of a top bucket lie in the blocks before this one, `tiesIn(bucket)`
 * how many in it; `block` the block's magnitudes. A boundary's ties are looked for in this block only where the one
 * sought lies in it.
 */
export function rowBlockCut(
	whole: { length: number; top: Float64Array },
	block: { source: MagnitudeSource; tiesBefore(bucket: number): number; tiesIn(bucket: number): number },
	from: number,
	to: number,
	scratch: ScratchAllocator,
): BlockCut {
	if (whole.top[TOP_BUCKETS] !== 0) {
		throw new Error("a cut in blocks of rows needs magnitudes without low bits (bfloat16 task vectors)");
	}
	const bounds = rankBoundaries({ length: whole.length, histogram: () => whole.top }, from, to);
	const n = block.source.length;
	// Of the elements of magnitude `bits`, the index in this block of the one with `ordinal` such before it in the
	// tensor: 0 where it lies in an earlier block, n in a later one.
	const local = (bits: number, ordinal: number): number => {
		const before = block.tiesBefore(bits >>> 16);
		if (ordinal < before) {
			return 0;
		}
		if (ordinal >= before + block.tiesIn(bits >>> 16)) {
			return n;
		}
		const counted = tiesBefore(block.source, true, { upperBits: bits, lowerBits: -1 }, scratch);
		return tieIndex(block.source, bits, ordinal - before, counted, 0);
	};
	return {
		upperBits: bounds.upperBits,
		lowerBits: bounds.lowerBits,
		upperCut: bounds.upperTies ? local(bounds.upperBits, bounds.upperSkip) : 0,
		lowerCut: bounds.lowerTies ? local(bounds.lowerBits, bounds.lowerKeep) : n,
	};
}

/** A cut's boundary magnitudes, and how many of the elements equal to each it keeps. */
interface RankBoundaries {
	upperBits: number;
	upperSkip: number;
	lowerBits: number;
	lowerKeep: number;
	/** Whether the boundary splits its ties (some kept, some not), so that their indices decide. */
	upperTies: boolean;
	lowerTies: boolean;
}

function rankBoundaries(
	source: Pick<MagnitudeSource, "length" | "histogram" | "rankOf">,
	from: number,
	to: number,
): RankBoundaries {
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
		const upper = source.rankOf?.(from) ?? magnitudeAtRankOf(n, from, histogram);
		upperBits = upper.bits;
		upperSkip = from - upper.greater;
	}
	// Lower boundary: of the elements whose magnitude equals `lowerBits`, the first `lowerKeep` rank below `to`.
	let lowerBits = -1;
	let lowerKeep = 0;
	let lowerTies = false;
	if (to < n) {
		const lower = source.rankOf?.(to - 1) ?? magnitudeAtRankOf(n, to - 1, histogram);
		lowerBits = lower.bits;
		lowerKeep = to - lower.greater;
		lowerTies = lowerKeep < lower.equal;
	}
	return { upperBits, upperSkip, lowerBits, lowerKeep, upperTies: upperSkip > 0, lowerTies };
}

/**
 * Per KEEP_BLOCK, how many elements equal to the upper and to the lower boundary come before it (at 2·block and
 * 2·block + 1), and after the last block how many there are in all, counted where `count`; else all zero.
 */
function tiesBefore(
	source: MagnitudeSource,
	count: boolean,
	bounds: { upperBits: number; lowerBits: number },
	scratch: ScratchAllocator,
): Float64Array {
	const blocks = Math.ceil(source.length / KEEP_BLOCK);
	const before = scratch.f64(2 * blocks + 2);
	if (!count) {
		return before;
	}
	source.countTies(bounds.upperBits, bounds.lowerBits, before);
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
	before[2 * blocks] = upperSeen;
	before[2 * blocks + 1] = lowerSeen;
	return before;
}

/**
 * How many of `source`'s magnitudes equal `bits`, and the index of the one with `ordinal` such before it (the
 * source's length where there are not that many).
 */
export function tieAt(
	source: MagnitudeSource,
	bits: number,
	ordinal: number,
	scratch: ScratchAllocator,
): { count: number; index: number } {
	const counted = tiesBefore(source, true, { upperBits: bits, lowerBits: -1 }, scratch);
	const count = counted[counted.length - 2] as number;
	return { count, index: ordinal < count ? tieIndex(source, bits, ordinal, counted, 0) : source.length };
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
export function valuesSource(values: Float32Array, context: Pick<MergeContext, "parallel" | "alloc">): MagnitudeSource {
	const n = values.length;
	return {
		length: n,
		histogram: magnitudeHistogramOf(values, context),
		rankOf: (rank) => magnitudeAtRankInBand(values, rank, context),
		countTies: (upperBits, lowerBits, counts) => {
			const args = { arrays: [values, counts], numbers: [upperBits, lowerBits], align: KEEP_BLOCK };
			runRange(context, "count-magnitude-ties", args, n);
		},
		block: (block) => values.subarray(block * KEEP_BLOCK, Math.min(n, (block + 1) * KEEP_BLOCK)),
	};
}

/**
 * Parts a task vector's top histogram is counted in, whose histograms are kept: up to eight (two threads take four
 * each), at least two (one for each), and no more than one per PART_ELEMENTS elements, since each part's 32768 counts
 * cost as much to add up as counting a few hundred thousand elements.
 */
const TOP_PARTS = 8;
const PART_ELEMENTS = 1 << 20;

/**
 * The per-part top histograms of the last task-vector source that counted one, and that source: one buffer, shared
 * with the worker threads and reused (fresh memory costs more here than the counting).
 */
let partSums = new Float64Array(new SharedArrayBuffer(8));
let partsOwner: MagnitudeSource | undefined;

/**
 * The task vector δ = round(x − b) of a bf16 merge as a magnitude source, made block by block and never stored
 * whole (SIMD kernels only). Its top histogram is counted in TOP_PARTS parts whose histograms are kept, so that a
 * boundary's ties are counted block by block only in the part that holds the one sought.
 */
export function taskVectorSource(
	x: RangeArray,
	b: RangeArray,
	context: Pick<MergeContext, "parallel">,
): MagnitudeSource {
	const n = b.length;
	const partCount = Math.min(TOP_PARTS, Math.max(2, Math.ceil(n / PART_ELEMENTS)));
	const step = Math.max(1, Math.ceil(n / partCount / KEEP_BLOCK)) * KEEP_BLOCK;
	const parts = Math.ceil(n / step);
	let top: Float64Array | undefined;
	const source: MagnitudeSource = {
		length: n,
		histogram: (high) => {
			const args = { arrays: [x, b], numbers: [high] };
			if (high >= 0) {
				return runRange(context, "task-vector-histogram", args, n, histogramSums(high));
			}
			if (partSums.length < parts * TOP_SUMS) {
				partSums = new Float64Array(new SharedArrayBuffer(8 * parts * TOP_SUMS));
			}
			partsOwner = source;
			top = runRange(context, "task-vector-histogram", args, n, TOP_SUMS, { step, sums: partSums });
			return top;
		},
		countTies: (upperBits, lowerBits, counts) => {
			const args = { arrays: [x, b, counts], numbers: [upperBits, lowerBits], align: KEEP_BLOCK };
			runRange(context, "task-vector-count-ties", args, n);
		},
		block: (block) => taskVectorValues(x, b, block * KEEP_BLOCK, Math.min(n, (block + 1) * KEEP_BLOCK)),
		tieIndex: (bits, ordinal, scratch) => {
			// The parts' counts of a top bucket are the counts of `bits` only where no magnitude has low bits.
			if (partsOwner !== source || top === undefined || top[TOP_BUCKETS] !== 0) {
				return undefined;
			}
			let seen = 0;
			for (let part = 0; part < parts; part++) {
				const here = partSums[part * TOP_SUMS + (bits >>> 16)] as number;
				if (ordinal < seen + here) {
					const start = part * step;
					const end = Math.min(n, start + step);
					const region = taskVectorSource(x.subarray(start, end), b.subarray(start, end), context);
					const before = tiesBefore(region, true, { upperBits: bits, lowerBits: -1 }, scratch);
					return start + tieIndex(region, bits, ordinal - seen, before, 0);
				}
				seen += here;
			}
			return n;
		},
	};
	return source;
}
