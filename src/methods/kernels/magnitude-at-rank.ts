import type { MergeContext } from "../merge-method.js";
import { histogramSums, LOW_BUCKETS, TOP_BUCKETS, TOP_SUMS } from "./magnitude-buckets.js";
import { runRange } from "./run-range.js";
import { HEAP_SCRATCH } from "./scratch.js";

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

/** Magnitudes drawn (evenly spaced) to place a band. */
const SAMPLE = 4096;
/** Below this many elements the radix select's passes cost too little for a band to save anything. */
export const BAND_FROM = 1 << 20;
/** The magnitudes gathered in a band are ranked directly (rankAmong) from this many down. */
const FEW = 32768;
/** The band's share of the elements past which it is given up (in SCE's merges: 3% at a first band, 5–7% later). */
const BAND_ROOM = 1 / 8;

/**
 * magnitudeAtRankOf's answer in one pass over the values instead of the radix select's two: a sample of evenly
 * spaced magnitudes places a band that holds the one at `rank` but for bad luck (four standard deviations of the
 * sample's rank each side); the pass counts the magnitudes above the band and gathers those in it (see the
 * magnitude-band kernel), and the gathered are narrowed the same way until few are left, which are ranked directly.
 * Exact whatever the samples: undefined where the first band missed the rank or overflowed its room (many equal
 * magnitudes at its edge, say), and the caller then takes the radix select.
 */
export function magnitudeAtRankInBand(
	values: Float32Array,
	rank: number,
	context: Pick<MergeContext, "parallel" | "alloc"> = {},
): MagnitudeRank | undefined {
	if (values.length < BAND_FROM || !(Number.isInteger(rank) && rank >= 0 && rank < values.length)) {
		return undefined;
	}
	return rankInBand(values, rank, context);
}

/** One band's pass (see magnitudeAtRankInBand) and the narrowing of what it gathered; undefined where it missed. */
function rankInBand(
	values: Float32Array,
	rank: number,
	context: Pick<MergeContext, "parallel" | "alloc">,
): MagnitudeRank | undefined {
	const n = values.length;
	const bits = new Uint32Array(values.buffer, values.byteOffset, n);
	const stride = Math.floor(n / SAMPLE);
	const sample = new Uint32Array(SAMPLE);
	for (let i = 0; i < SAMPLE; i++) {
		sample[i] = (bits[i * stride] as number) & 0x7fffffff;
	}
	sample.sort();
	// The band's edges: the sample's magnitudes at descending ranks that far either side, rounded outwards; past
	// either end the band is open there (an edge no magnitude equals). The magnitudes equal to an edge are counted,
	// not gathered: many equal ones there would fill the band.
	const share = rank / n;
	const margin = 4 * Math.sqrt(SAMPLE * share * (1 - share)) + 8;
	const highest = Math.floor(share * SAMPLE - margin);
	const lowest = Math.ceil(share * SAMPLE + margin);
	const upper = highest < 0 ? 0x80000000 : (sample[SAMPLE - 1 - highest] as number);
	const lower = lowest >= SAMPLE ? 0xffffffff : (sample[SAMPLE - 1 - lowest] as number);
	const scratch = context.alloc ?? HEAP_SCRATCH;
	const room = scratch.f32Uninitialised(Math.ceil(n * BAND_ROOM));
	const band = new Uint32Array(room.buffer, room.byteOffset, room.length);
	const cursor = new Uint32Array(new SharedArrayBuffer(4));
	const [atOrAbove = 0, atUpper = 0, atLower = 0] = runRange(
		context,
		"magnitude-band",
		{ arrays: [values, band, cursor], numbers: [lower === 0xffffffff ? 0 : lower, lower, upper] },
		n,
		3,
	);
	const gathered = cursor[0] as number;
	try {
		// Descending: above the upper edge, at it, between the edges (gathered), at the lower edge.
		const above = atOrAbove - atUpper;
		if (gathered > band.length || rank < above) {
			return undefined;
		}
		if (rank < atOrAbove) {
			return { bits: upper, greater: above, equal: atUpper };
		}
		const between = rank - atOrAbove;
		if (between < gathered) {
			const within =
				(gathered > FEW ? rankInBand(room.subarray(0, gathered), between, context) : undefined) ??
				rankAmong(band.subarray(0, gathered), between);
			return { bits: within.bits, greater: atOrAbove + within.greater, equal: within.equal };
		}
		return between < gathered + atLower ? { bits: lower, greater: atOrAbove + gathered, equal: atLower } : undefined;
	} finally {
		scratch.free?.(room);
	}
}

/** The histograms of rankAmong: kept for the process's life, as fresh memory costs more here than the counting. */
let bandCounts: { top: Float64Array; low: Float64Array } | undefined;

/**
 * magnitudeAtRankOf over magnitudes (bits, sign cleared) gathered in a band, its histograms counted in plain loops on
 * this thread: the gathered mostly share their top 16 bits, which the SIMD histogram's low pass expects of few.
 */
function rankAmong(magnitudes: Uint32Array, rank: number): MagnitudeRank {
	bandCounts ??= { top: new Float64Array(TOP_SUMS), low: new Float64Array(LOW_BUCKETS) };
	const { top, low } = bandCounts;
	return magnitudeAtRankOf(magnitudes.length, rank, (high) => {
		if (high >= 0) {
			low.fill(0);
			for (let j = 0; j < magnitudes.length; j++) {
				const bits = magnitudes[j] as number;
				if (bits >>> 16 === high) {
					low[bits & 0xffff] = (low[bits & 0xffff] as number) + 1;
				}
			}
			return low;
		}
		top.fill(0);
		let lowSet = 0;
		for (let j = 0; j < magnitudes.length; j++) {
			const bits = magnitudes[j] as number;
			top[bits >>> 16] = (top[bits >>> 16] as number) + 1;
			lowSet += +((bits & 0xffff) !== 0);
		}
		top[TOP_BUCKETS] = lowSet;
		return top;
	});
}
