import { measureRange } from "../../insight/measure-range.js";
import type { FloatDtype } from "../../safetensors/dtype.js";
import { asFloat32 } from "./as-float32.js";
import { LOW_BUCKETS, TOP_BUCKETS } from "./magnitude-buckets.js";
import { mixRound } from "./mix-round.js";
import { modelStockLanes, modelStockMix, modelStockSums } from "./model-stock-kernels.js";
import { multislerpKernel } from "./multislerp-kernels.js";
import { roundArray } from "./round-array.js";
import { BF16_SPLIT, MIN_NORMAL, roundBf16Bits } from "./round-bf16.js";
import { dareMaskMade, dareMaskSimd } from "./simd/dare-mask-simd.js";
import { dellaLaneMask, pruneDellaLane } from "./simd/della-lane-wasm.js";
import { linearMixSimd } from "./simd/linear-mix-simd.js";
import {
	countMagnitudeTiesSimd,
	decodeBf16Simd,
	encodeBf16Simd,
	keepMagnitudeRanksSimd,
	magnitudeBandSimd,
	magnitudeHistogramSimd,
	taskVectorHistogramSimd,
} from "./simd/magnitude-simd.js";
import { nearswapSimd, pairMixSimd, pairSumsSimd } from "./simd/pair-simd.js";
import {
	SCE_DIVISOR_FLOOR,
	SCE_SIMD_MAX,
	sceCombineMade,
	sceEnergiesMade,
	sceVarianceMade,
	signElectionSimd,
	type VarianceCut,
} from "./simd/sce-simd.js";
import { laneTotal, type ResultArray, simdEnabled } from "./simd/simd-kernels.js";
import {
	combineMadeTaskVectors,
	type DareMask,
	dareBlock,
	electedBlock,
	keepRanksBlock,
	type PruneBlock,
	scaleAndCountSimd,
	taskCombineSimd,
	taskFinishSimd,
	taskSumSimd,
	taskVectorBlocks,
	taskVectorSimd,
	weightedSumBlock,
} from "./simd/task-arithmetic-simd.js";
import { magnitudeSortScratch, sortByMagnitude } from "./sort-by-magnitude.js";

/** Typed views a range kernel reads and writes; on SharedArrayBuffers when worker threads run it. */
export type RangeArray = Float32Array | Float64Array | Uint16Array | Uint32Array;

export interface RangeArgs {
	arrays: readonly RangeArray[];
	numbers: readonly number[];
	/** The dtype intermediates are rounded to (bf16/fp16 merges); undefined for float32. */
	dtype?: FloatDtype | undefined;
	/** Split points between threads fall on multiples of this (a kernel with per-block sums needs its blocks whole). */
	align?: number;
	/** Elements behind each index of the range (a kernel over lanes): decides whether splitting it pays. */
	elementsPerIndex?: number;
}

/**
 * A loop over elements [start, end) that touches element j of each array only at j, so any split of the range across
 * threads gives bit-identical results. `sums` receives counts (integers, so their order of addition does not matter).
 */
export type RangeKernel = (args: RangeArgs, start: number, end: number, sums: Float64Array) => void;

/** Elements per block of the kernels that round intermediates: the block's scratch stays in the first-level cache. */
const BLOCK = 4096;

const INF = Number.POSITIVE_INFINITY;

const f32 = (args: RangeArgs, index: number): Float32Array => args.arrays[index] as Float32Array;

/**
 * δ = round(x − b): arrays [x, b, delta]; x may be bfloat16 bit patterns as stored (decoded by table lookup). Two
 * tight loops, the difference and then roundArray's integer rounding of the bit patterns, run faster than rounding
 * each value as it is computed.
 */
const taskVector: RangeKernel = (args, start, end) => {
	const b = f32(args, 1);
	const delta = f32(args, 2);
	const x = args.arrays[0];
	if (simdEnabled() && (args.dtype === "BF16" || args.dtype === undefined) && !(x instanceof Float64Array)) {
		taskVectorSimd(x as Float32Array | Uint16Array, b, delta, args.dtype === "BF16", start, end);
		return;
	}
	if (x instanceof Uint16Array) {
		// Decoded into δ's own bits first (a shift), then the difference in place: cheaper than a table lookup.
		const bits = new Uint32Array(delta.buffer, delta.byteOffset, delta.length);
		for (let j = start; j < end; j++) {
			bits[j] = (x[j] as number) << 16;
		}
		for (let j = start; j < end; j++) {
			delta[j] = (delta[j] as number) - (b[j] as number);
		}
	} else {
		const values = x as Float32Array;
		for (let j = start; j < end; j++) {
			delta[j] = (values[j] as number) - (b[j] as number);
		}
	}
	roundArray(delta, args.dtype, start, end);
};

/** Counts the nonzero elements of δ (sums[0]), then δ = round(w·δ): arrays [delta], numbers [w]. */
const scaleAndCount: RangeKernel = (args, start, end, sums) => {
	const delta = f32(args, 0);
	const bits = new Uint32Array(delta.buffer, delta.byteOffset, delta.length);
	const w = args.numbers[0] as number;
	if (simdEnabled() && (args.dtype === "BF16" || args.dtype === undefined)) {
		sums[0] = (sums[0] as number) + scaleAndCountSimd(delta, w, args.dtype === "BF16", start, end);
		return;
	}
	let nonzero = 0;
	for (let j = start; j < end; j++) {
		// 1 for a nonzero magnitude (NaN included, as d !== 0 counts it), without a branch on pruned or not.
		nonzero += (((bits[j] as number) & 0x7fffffff) + 0x7fffffff) >>> 31;
		delta[j] = w * (delta[j] as number);
	}
	roundArray(delta, args.dtype, start, end);
	sums[0] = (sums[0] as number) + nonzero;
};

/**
 * TIES sign election per element (float32 partial sums from +0, as torch sums the votes; test/helpers'
 * signConsensus is the plain reference it is tested against): arrays
 * [numerator, divisor, ...vectors], numbers [...voteScale, ...numeratorScale, ...divisorScale]; sums[i] counts
 * vector i's agreeing elements. Signs are random, so the comparisons are done on the float bits without branches: a
 * mispredicted branch per element costs more than all the arithmetic.
 */
const signElection: RangeKernel = (args, start, end, sums) => {
	const numerator = f32(args, 0);
	const divisor = f32(args, 1);
	const count = args.arrays.length - 2;
	const vectors = args.arrays.slice(2) as Float32Array[];
	const vote = args.numbers.slice(0, count);
	const scaleA = args.numbers.slice(count, 2 * count);
	const scaleD = args.numbers.slice(2 * count, 3 * count);
	if (!vote.every((scale) => scale === 1)) {
		signElectionAnyScale(numerator, divisor, vectors, vote, scaleA, scaleD, start, end, sums);
		return;
	}
	if (simdEnabled() && count <= SCE_SIMD_MAX) {
		signElectionSimd(numerator, divisor, vectors, scaleA, scaleD, start, end).forEach((agreed, i) => {
			sums[i] = (sums[i] as number) + agreed;
		});
		return;
	}
	const fround = Math.fround;
	const bits = vectors.map((x) => new Uint32Array(x.buffer, x.byteOffset, x.length));
	const total = new Float32Array(1);
	const totalBits = new Uint32Array(total.buffer);
	const agreed = new Float64Array(count);
	for (let j = start; j < end; j++) {
		let sum = 0;
		for (let i = 0; i < count; i++) {
			sum = fround(sum + (vote[i] as number) * ((vectors[i] as Float32Array)[j] as number));
		}
		total[0] = sum;
		const tb = totalBits[0] as number;
		// The elected sign is − unless the sum is ≥ 0: a set sign bit, or NaN (rare, so a branch is fine). The sum starts
		// at +0, so it is never −0.
		const negative = (tb & 0x7fffffff) > 0x7f800000 ? 1 : tb >>> 31;
		let num = 0;
		let div = 0;
		for (let i = 0; i < count; i++) {
			const xb = (bits[i] as Uint32Array)[j] as number;
			const magnitude = xb & 0x7fffffff;
			// With a vote scale of 1, x agrees where it is nonzero, not NaN, and has the elected sign.
			const agrees =
				((magnitude + 0x7fffffff) >>> 31) & (((0x7f800000 - magnitude) >>> 31) ^ 1) & ((xb >>> 31) ^ negative ^ 1);
			const value = (vectors[i] as Float32Array)[j] as number;
			num = fround(num + agrees * (scaleA[i] as number) * value);
			div = fround(div + agrees * (scaleD[i] as number));
			agreed[i] = (agreed[i] as number) + agrees;
		}
		numerator[j] = num;
		divisor[j] = div;
	}
	for (let i = 0; i < count; i++) {
		sums[i] = (sums[i] as number) + (agreed[i] as number);
	}
};

/** The sign election with any vote scales (zero or negative ones included), element by element. */
function signElectionAnyScale(
	numerator: Float32Array,
	divisor: Float32Array,
	vectors: readonly Float32Array[],
	vote: readonly number[],
	scaleA: readonly number[],
	scaleD: readonly number[],
	start: number,
	end: number,
	sums: Float64Array,
): void {
	const fround = Math.fround;
	const count = vectors.length;
	for (let j = start; j < end; j++) {
		let total = 0;
		for (let i = 0; i < count; i++) {
			total = fround(total + (vote[i] as number) * ((vectors[i] as Float32Array)[j] as number));
		}
		const elected = total >= 0 ? 1 : -1;
		let num = 0;
		let div = 0;
		for (let i = 0; i < count; i++) {
			const value = (vectors[i] as Float32Array)[j] as number;
			const agrees = +((vote[i] as number) * value * elected > 0);
			num = fround(num + agrees * (scaleA[i] as number) * value);
			div = fround(div + agrees * (scaleD[i] as number));
			sums[i] = (sums[i] as number) + agrees;
		}
		numerator[j] = num;
		divisor[j] = div;
	}
}

/**
 * The task-arithmetic family's last step, fused: the mix m (the elected numerator over the per-element divisor, or
 * the plain sum of the weighted task vectors over one divisor), each intermediate rounded as mergekit rounds it, then
 * out = b + λ·m. Arrays [out, b, divisors or out, ...weighted]; numbers [consensus, normalize, divisor, lambda].
 */
const taskFinish: RangeKernel = (args, start, end) => {
	const out = f32(args, 0);
	const b = f32(args, 1);
	const divisors = f32(args, 2);
	const weighted = args.arrays.slice(3) as Float32Array[];
	const [consensus, normalize, divisor, lambda] = args.numbers as [number, number, number, number];
	const dtype = args.dtype;
	if (simdEnabled() && dtype === "BF16" && !consensus && weighted.length <= 3 && Math.fround(divisor) === divisor) {
		taskFinishSimd(out, b, weighted, normalize, divisor, lambda, start, end);
		return;
	}
	if (dtype === undefined) {
		// Float32 merges keep the mix in float64 until the final store.
		for (let j = start; j < end; j++) {
			let mixed: number;
			let d = divisor;
			if (consensus) {
				mixed = out[j] as number;
				const z = divisors[j] as number;
				d = z === 0 ? 1 : z;
			} else {
				mixed = 0;
				for (let i = 0; i < weighted.length; i++) {
					mixed += (weighted[i] as Float32Array)[j] as number;
				}
			}
			let m = normalize ? mixed / d : mixed;
			if (lambda !== 1) {
				m *= lambda;
			}
			out[j] = (b[j] as number) + m;
		}
		return;
	}
	const m = new Float32Array(BLOCK);
	const z = new Float32Array(BLOCK);
	const zBits = new Uint32Array(z.buffer);
	for (let from = start; from < end; from += BLOCK) {
		const length = Math.min(BLOCK, end - from);
		if (consensus) {
			for (let k = 0; k < length; k++) {
				m[k] = out[from + k] as number;
				z[k] = divisors[from + k] as number;
			}
			roundArray(m, dtype, 0, length);
			roundArray(z, dtype, 0, length);
			if (normalize) {
				for (let k = 0; k < length; k++) {
					// A zero divisor (no model agreed) becomes 1; the test is on the bits, without a branch.
					const zk = z[k] as number;
					m[k] = (m[k] as number) / (zk + ((((zBits[k] as number) & 0x7fffffff) - 1) >>> 31));
				}
				roundArray(m, dtype, 0, length);
			}
		} else {
			// A float32 running sum from +0, as PyTorch sums bfloat16 and float16 along a dimension.
			for (let k = 0; k < length; k++) {
				let mixed = 0;
				for (let i = 0; i < weighted.length; i++) {
					mixed = Math.fround(mixed + ((weighted[i] as Float32Array)[from + k] as number));
				}
				m[k] = mixed;
			}
			roundArray(m, dtype, 0, length);
			if (normalize) {
				for (let k = 0; k < length; k++) {
					m[k] = (m[k] as number) / divisor;
				}
				roundArray(m, dtype, 0, length);
			}
		}
		if (lambda !== 1) {
			for (let k = 0; k < length; k++) {
				m[k] = (m[k] as number) * lambda;
			}
			roundArray(m, dtype, 0, length);
		}
		for (let k = 0; k < length; k++) {
			out[from + k] = (b[from + k] as number) + (m[k] as number);
		}
	}
};

/**
 * Linear's weighted sum, each product, the sum and the quotient rounded as mergekit rounds them in a bf16/fp16
 * merge (the products added to a float32 running sum from +0, as PyTorch sums them); float32 merges sum in float64
 * and store once: arrays [out, ...inputs], numbers [divisor, ...weights].
 */
const linearMix: RangeKernel = (args, start, end) => {
	const divisor = args.numbers[0] as number;
	const weights = args.numbers.slice(1);
	const dtype = args.dtype;
	if (dtype === "BF16" && args.arrays.length <= 4 && simdEnabled()) {
		linearMixSimd(args.arrays[0] as ResultArray, args.arrays.slice(1), weights, divisor, start, end);
		return;
	}
	const out = args.arrays[0];
	if (!(out instanceof Float32Array)) {
		throw new Error("linear-mix writes bfloat16 results with the SIMD kernels only");
	}
	if (dtype === "BF16" && args.arrays.length <= 4) {
		linearMixBf16(out, args.arrays.slice(1), weights, divisor, start, end);
		return;
	}
	const inputs = args.arrays.slice(1) as Float32Array[];
	if (dtype === undefined) {
		for (let j = start; j < end; j++) {
			let acc = 0;
			for (let i = 0; i < inputs.length; i++) {
				acc += (weights[i] as number) * ((inputs[i] as Float32Array)[j] as number);
			}
			out[j] = acc / divisor;
		}
		return;
	}
	const product = new Float32Array(BLOCK);
	// Float32: each addition is stored, and so rounded, as PyTorch's running sum is.
	const acc = new Float32Array(BLOCK);
	for (let from = start; from < end; from += BLOCK) {
		const length = Math.min(BLOCK, end - from);
		acc.fill(0);
		for (let i = 0; i < inputs.length; i++) {
			const x = inputs[i] as Float32Array;
			const w = weights[i] as number;
			for (let k = 0; k < length; k++) {
				product[k] = w * (x[from + k] as number);
			}
			roundArray(product, dtype, 0, length);
			for (let k = 0; k < length; k++) {
				acc[k] = (acc[k] as number) + (product[k] as number);
			}
		}
		for (let k = 0; k < length; k++) {
			product[k] = acc[k] as number;
		}
		roundArray(product, dtype, 0, length);
		for (let k = 0; k < length; k++) {
			out[from + k] = (product[k] as number) / divisor;
		}
		roundArray(out, dtype, from, from + length);
	}
};

const EMPTY = new Float32Array(0);

/**
 * linearMix for up to three bf16 inputs in one pass, element by element, with the same roundings as the block loop
 * (each product is a float32 value first, as storing it made it). Inputs are float32 values or, all of them, bfloat16
 * bit patterns as stored, decoded a block at a time into first-level-cache scratch (a shift per element).
 */
function linearMixBf16(
	out: Float32Array,
	inputs: readonly RangeArray[],
	weights: readonly number[],
	divisor: number,
	start: number,
	end: number,
): void {
	const count = inputs.length;
	const [w0 = 0, w1 = 0, w2 = 0] = weights;
	if (!(inputs[0] instanceof Uint16Array)) {
		const [x0 = EMPTY, x1 = EMPTY, x2 = EMPTY] = inputs as Float32Array[];
		mixBf16(out, start, x0, x1, x2, start, count, w0, w1, w2, divisor, end - start);
		return;
	}
	const scratch = [0, 1, 2].map(() => new Float32Array(BLOCK));
	const bits = scratch.map((values) => new Uint32Array(values.buffer));
	for (let from = start; from < end; from += BLOCK) {
		const length = Math.min(BLOCK, end - from);
		for (let i = 0; i < count; i++) {
			const halves = inputs[i] as Uint16Array;
			const target = bits[i] as Uint32Array;
			for (let k = 0; k < length; k++) {
				target[k] = (halves[from + k] as number) << 16;
			}
		}
		mixBf16(
			out,
			from,
			scratch[0] as Float32Array,
			scratch[1] as Float32Array,
			scratch[2] as Float32Array,
			0,
			count,
			w0,
			w1,
			w2,
			divisor,
			length,
		);
	}
}

/**
 * out[at + k] for k < length from x·[from + k]: each product, the float64 sum from +0 and the quotient rounded to
 * bfloat16, inline (see roundBf16Bits).
 */
function mixBf16(
	out: Float32Array,
	at: number,
	x0: Float32Array,
	x1: Float32Array,
	x2: Float32Array,
	from: number,
	count: number,
	w0: number,
	w1: number,
	w2: number,
	divisor: number,
	length: number,
): void {
	const fround = Math.fround;
	const abs = Math.abs;
	for (let k = 0; k < length; k++) {
		const j = from + k;
		let v = fround(w0 * (x0[j] as number));
		let m = abs(v);
		let h = BF16_SPLIT * v;
		// From 0, as the block loop sums: 0 + (−0) is +0, which decides the sign of a zero result.
		let acc = 0 + ((+(m < MIN_NORMAL) & +(m !== 0)) | +(m === INF) ? roundBf16Bits(v) : fround(h - (h - v)));
		if (count > 1) {
			v = fround(w1 * (x1[j] as number));
			m = abs(v);
			h = BF16_SPLIT * v;
			acc = fround(acc + ((+(m < MIN_NORMAL) & +(m !== 0)) | +(m === INF) ? roundBf16Bits(v) : fround(h - (h - v))));
		}
		if (count > 2) {
			v = fround(w2 * (x2[j] as number));
			m = abs(v);
			h = BF16_SPLIT * v;
			acc = fround(acc + ((+(m < MIN_NORMAL) & +(m !== 0)) | +(m === INF) ? roundBf16Bits(v) : fround(h - (h - v))));
		}
		v = acc;
		m = abs(v);
		h = BF16_SPLIT * v;
		v = (+(m < MIN_NORMAL) & +(m !== 0)) | +(m === INF) ? roundBf16Bits(v) : fround(h - (h - v));
		v = fround(v / divisor);
		m = abs(v);
		h = BF16_SPLIT * v;
		out[at + k] = (+(m < MIN_NORMAL) & +(m !== 0)) | +(m === INF) ? roundBf16Bits(v) : fround(h - (h - v));
	}
}

/**
 * TIES-style combination in one pass, for up to three models in float32 or bf16 merges: per element, what
 * scale-and-count, sign-election (vote and numerator scales 1) and task-finish do in three passes, with the same
 * float32 partial sums and the same roundings, so the result is bit-identical to theirs (and about 1.4× (bf16) to
 * 1.7× (float32) faster; for the plain weighted sum the three passes are as fast, so they stay). Arrays [out, b,
 * ...pruned task vectors δᵢ (unweighted)]; numbers [normalize, lambda, ...weights wᵢ]; sums [nonzero δᵢ per
 * model..., agreeing uᵢ = wᵢ·δᵢ per model...].
 */
const taskCombine: RangeKernel = (args, start, end, sums) => {
	const count = args.arrays.length - 2;
	const [normalize, lambda] = args.numbers as [number, number];
	const weights = args.numbers.slice(2);
	const simd = simdEnabled() && args.dtype === "BF16" && weights.every((w) => Math.fround(w) === w);
	if (!simd && !(args.arrays[0] instanceof Float32Array)) {
		throw new Error("task-combine writes bfloat16 results with the SIMD kernels only");
	}
	const counts = simd
		? taskCombineSimd(
				args.arrays[0] as ResultArray,
				f32(args, 1),
				args.arrays.slice(2) as Float32Array[],
				weights,
				normalize,
				lambda,
				start,
				end,
			)
		: combineElected(
				f32(args, 0),
				f32(args, 1),
				count,
				(args.arrays[2] ?? EMPTY) as Float32Array,
				(args.arrays[3] ?? EMPTY) as Float32Array,
				(args.arrays[4] ?? EMPTY) as Float32Array,
				args.numbers[2] ?? 0,
				args.numbers[3] ?? 0,
				args.numbers[4] ?? 0,
				args.dtype === "BF16",
				normalize,
				lambda,
				start,
				end,
			);
	for (let i = 0; i < count; i++) {
		sums[i] = (sums[i] as number) + (counts[i] as number);
		sums[count + i] = (sums[count + i] as number) + (counts[3 + i] as number);
	}
};

/*
 * The two loops below round inline: `m = |v|; h = BF16_SPLIT·v; v = (subnormal or infinite) ? roundBf16Bits(v) :
 * fround(h − (h − v))`. A call per value would box its result, and the test is written with `+` and `&` rather
 * than `||`, whose short-circuit is a branch that zeros (half of a pruned task vector) would mispredict. Flags of
 * the loop (bf16, count) are tested inside it: they never change, so those branches cost nothing.
 */

/** taskCombine's loop: counts [nonzero δ₀..₂, agreeing u₀..₂], each for the first `count` models. */
function combineElected(
	out: Float32Array,
	b: Float32Array,
	count: number,
	x0: Float32Array,
	x1: Float32Array,
	x2: Float32Array,
	w0: number,
	w1: number,
	w2: number,
	bf16: boolean,
	normalize: number,
	lambda: number,
	start: number,
	end: number,
): number[] {
	const fround = Math.fround;
	const abs = Math.abs;
	let kept0 = 0;
	let kept1 = 0;
	let kept2 = 0;
	let agreed0 = 0;
	let agreed1 = 0;
	let agreed2 = 0;
	for (let j = start; j < end; j++) {
		const d0 = x0[j] as number;
		kept0 += +(d0 !== 0);
		let u0 = fround(w0 * d0);
		let m: number;
		let h: number;
		if (bf16) {
			m = abs(u0);
			h = BF16_SPLIT * u0;
			u0 = (+(m < MIN_NORMAL) & +(m !== 0)) | +(m === INF) ? roundBf16Bits(u0) : fround(h - (h - u0));
		}
		// The vote in float32 from +0; NaN or a negative sum elects −.
		let vote = fround(0 + u0);
		let u1 = 0;
		let u2 = 0;
		if (count > 1) {
			const d1 = x1[j] as number;
			kept1 += +(d1 !== 0);
			u1 = fround(w1 * d1);
			if (bf16) {
				m = abs(u1);
				h = BF16_SPLIT * u1;
				u1 = (+(m < MIN_NORMAL) & +(m !== 0)) | +(m === INF) ? roundBf16Bits(u1) : fround(h - (h - u1));
			}
			vote = fround(vote + u1);
		}
		if (count > 2) {
			const d2 = x2[j] as number;
			kept2 += +(d2 !== 0);
			u2 = fround(w2 * d2);
			if (bf16) {
				m = abs(u2);
				h = BF16_SPLIT * u2;
				u2 = (+(m < MIN_NORMAL) & +(m !== 0)) | +(m === INF) ? roundBf16Bits(u2) : fround(h - (h - u2));
			}
			vote = fround(vote + u2);
		}
		// uᵢ agrees where uᵢ·sign > 0: never for 0 or NaN.
		const sign = 1 - 2 * +!(vote >= 0);
		const a0 = +(u0 * sign > 0);
		agreed0 += a0;
		let mix = fround(0 + a0 * u0);
		let z = fround(0 + a0 * w0);
		if (count > 1) {
			const a1 = +(u1 * sign > 0);
			agreed1 += a1;
			mix = fround(mix + a1 * u1);
			z = fround(z + a1 * w1);
		}
		if (count > 2) {
			const a2 = +(u2 * sign > 0);
			agreed2 += a2;
			mix = fround(mix + a2 * u2);
			z = fround(z + a2 * w2);
		}
		if (bf16) {
			m = abs(mix);
			h = BF16_SPLIT * mix;
			mix = (+(m < MIN_NORMAL) & +(m !== 0)) | +(m === INF) ? roundBf16Bits(mix) : fround(h - (h - mix));
			m = abs(z);
			h = BF16_SPLIT * z;
			z = (+(m < MIN_NORMAL) & +(m !== 0)) | +(m === INF) ? roundBf16Bits(z) : fround(h - (h - z));
			if (normalize) {
				// No model agreeing leaves z = 0, which divides as 1.
				mix = fround(mix / (z + +(z === 0)));
				m = abs(mix);
				h = BF16_SPLIT * mix;
				mix = (+(m < MIN_NORMAL) & +(m !== 0)) | +(m === INF) ? roundBf16Bits(mix) : fround(h - (h - mix));
			}
			if (lambda !== 1) {
				mix = fround(mix * lambda);
				m = abs(mix);
				h = BF16_SPLIT * mix;
				mix = (+(m < MIN_NORMAL) & +(m !== 0)) | +(m === INF) ? roundBf16Bits(mix) : fround(h - (h - mix));
			}
		} else {
			if (normalize) {
				mix /= z + +(z === 0);
			}
			if (lambda !== 1) {
				mix *= lambda;
			}
		}
		out[j] = (b[j] as number) + mix;
	}
	return [kept0, kept1, kept2, agreed0, agreed1, agreed2];
}

/** Elements per block of dare-mask's L1 norms: thread split points fall between blocks. */
export const DARE_BLOCK = 65536;

/**
 * DARE's mask: element j survives iff the counter stream's 16-bit draw for j (counterHalfDraw) is below `threshold`
 * (dareThreshold, below 2¹⁶); the others become +0. Arrays [delta, norms]; numbers [threshold, k0, k1].
 * norms[2·block] and norms[2·block + 1] receive each DARE_BLOCK's L1 norm before and after masking: per block, four
 * float64 sums, one for each element index mod 4, added in that order at the end (the order SIMD lanes add in).
 */
const dareMask: RangeKernel = (args, start, end) => {
	const delta = f32(args, 0);
	const norms = args.arrays[1] as Float64Array;
	const [threshold, k0, k1] = args.numbers as [number, number, number];
	const bits = new Uint32Array(delta.buffer, delta.byteOffset, delta.length);
	const abs = Math.abs;
	const lanes = new Float64Array(8);
	for (let from = start; from < end; from += DARE_BLOCK) {
		const to = Math.min(end, from + DARE_BLOCK);
		const block = Math.floor(from / DARE_BLOCK);
		if (simdEnabled()) {
			[norms[2 * block], norms[2 * block + 1]] = dareMaskSimd(delta, threshold, k0, k1, from, to);
			continue;
		}
		lanes.fill(0);
		for (let j = from; j < to; j++) {
			// counterHalfDraw(k0, k1, j) for j < 2³² (typed arrays are shorter), repeated here so that it is inlined.
			const word = mixRound((mixRound((j >>> 1) ^ k0) + k1) | 0);
			const keep = +((j & 1 ? word >>> 16 : word & 0xffff) < threshold);
			const lane = (j - from) & 3;
			lanes[lane] = (lanes[lane] as number) + abs(delta[j] as number);
			bits[j] = (bits[j] as number) & -keep;
			// Read back rather than keep·|value|: a dropped NaN is +0 now and must not count.
			lanes[4 + lane] = (lanes[4 + lane] as number) + abs(delta[j] as number);
		}
		const [b0 = 0, b1 = 0, b2 = 0, b3 = 0, a0 = 0, a1 = 0, a2 = 0, a3 = 0] = lanes;
		norms[2 * block] = b0 + b1 + b2 + b3;
		norms[2 * block + 1] = a0 + a1 + a2 + a3;
	}
};

/**
 * DELLA's MAGPRUNE over lanes [start, end) (see sparsifyDella): each lane is ranked by magnitude and the element of
 * rank r survives iff its draw from the counter stream is below low + offset + r·step. Arrays [delta, norms];
 * numbers [length, stride, low, offset, step, k0, k1]; norms[2·lane] and norms[2·lane + 1] receive the lane's L1
 * norm before and after, each as four float64 sums (position in the lane mod 4) added in that order at the end.
 * Lanes are independent, so any split across threads gives the same result.
 */
const dellaLanes: RangeKernel = (args, start, end) => {
	const delta = f32(args, 0);
	const norms = args.arrays[1] as Float64Array;
	const [length, stride, low, offset, step, k0, k1] = args.numbers as [
		number,
		number,
		number,
		number,
		number,
		number,
		number,
	];
	const bits = new Uint32Array(delta.buffer, delta.byteOffset, delta.length);
	const order = new Uint32Array(length);
	const ranks = new Uint32Array(length);
	const scratch = magnitudeSortScratch(length);
	const lanes = new Float64Array(8);
	const block = length * stride;
	const abs = Math.abs;
	const wasm = simdEnabled() && stride === 1;
	for (let lane = start; lane < end; lane++) {
		const first = Math.floor(lane / stride) * block + (lane % stride);
		const pruned = wasm ? pruneDellaLane(delta, first, length, { low, offset, step }, { k0, k1 }) : undefined;
		if (pruned) {
			[norms[2 * lane], norms[2 * lane + 1]] = pruned;
			continue;
		}
		sortByMagnitude(bits, first, stride, length, order, scratch);
		for (let r = 0; r < length; r++) {
			ranks[order[r] as number] = r;
		}
		lanes.fill(0);
		for (let k = 0; k < length; k++) {
			const index = first + k * stride;
			// counterDraw(k0, k1, index), repeated here so that it is inlined.
			const a = mixRound(index ^ k0) >>> 0;
			const b = mixRound((a + k1) | 0) >>> 0;
			const draw = mixRound(b ^ index) >>> 0;
			lanes[k & 3] = (lanes[k & 3] as number) + abs(delta[index] as number);
			// Kept or not is a coin flip, so no branch on it: the bits are masked, and the result read back.
			const keep = +(draw / 4294967296 < low + offset + (ranks[k] as number) * step);
			bits[index] = (bits[index] as number) & -keep;
			lanes[4 + (k & 3)] = (lanes[4 + (k & 3)] as number) + abs(delta[index] as number);
		}
		const [b0 = 0, b1 = 0, b2 = 0, b3 = 0, a0 = 0, a1 = 0, a2 = 0, a3 = 0] = lanes;
		norms[2 * lane] = b0 + b1 + b2 + b3;
		norms[2 * lane + 1] = a0 + a1 + a2 + a3;
	}
};

/** magnitudeHistogram's counts, reused from call to call (each thread has its own copy of this module). */
const HISTOGRAM = new Uint32Array(LOW_BUCKETS);

/**
 * Histogram of magnitudes' bit patterns for the radix select (magnitudeAtRank): numbers [high]. With high −1, sums
 * receive the counts of the top 16 bits of |x|, and sums[TOP_BUCKETS] how many elements have any of the low 16 bits set
 * (none do where the values are bfloat16 ones, and then the second pass is not needed); else the counts of the low
 * 16 bits among elements whose top 16 bits are `high`.
 */
const magnitudeHistogram: RangeKernel = (args, start, end, sums) => {
	const values = f32(args, 0);
	const high = args.numbers[0] as number;
	if (simdEnabled()) {
		magnitudeHistogramSimd(values, high, start, end, sums);
		return;
	}
	const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
	const buckets = high < 0 ? TOP_BUCKETS : LOW_BUCKETS;
	const counts = HISTOGRAM.fill(0, 0, buckets);
	if (high < 0) {
		let lowSet = 0;
		for (let j = start; j < end; j++) {
			const b = (bits[j] as number) & 0x7fffffff;
			lowSet += +((b & 0xffff) !== 0);
			counts[b >>> 16] = (counts[b >>> 16] as number) + 1;
		}
		sums[TOP_BUCKETS] = (sums[TOP_BUCKETS] as number) + lowSet;
	} else {
		for (let j = start; j < end; j++) {
			const b = (bits[j] as number) & 0x7fffffff;
			if (b >>> 16 === high) {
				counts[b & 0xffff] = (counts[b & 0xffff] as number) + 1;
			}
		}
	}
	for (let k = 0; k < buckets; k++) {
		sums[k] = (sums[k] as number) + (counts[k] as number);
	}
};

/** The magnitudes a thread gathers before it reserves their place in the band (the JavaScript kernel). */
const BAND_BATCH = new Uint32Array(4096);

/**
 * The band pass of magnitudeAtRankInBand: arrays [values, band, cursor]; numbers [from, lower, upper]. Of the
 * magnitudes (bits, sign cleared), sums[0] counts those at or above `upper`, sums[1] those equal to it and sums[2]
 * those below it equal to `lower`; those from `from` up, below `upper` and other than `lower` are appended to `band`,
 * each batch at the place Atomics.add on cursor[0] reserves, as far as it has room (the cursor past the band's length
 * says some did not fit). Their order depends on the threads; what is made of them does not.
 */
const magnitudeBand: RangeKernel = (args, start, end, sums) => {
	const values = f32(args, 0);
	const band = args.arrays[1] as Uint32Array;
	const cursor = args.arrays[2] as Uint32Array;
	const [from = 0, lower = 0, upper = 0] = args.numbers;
	if (simdEnabled()) {
		magnitudeBandSimd(values, { from, lower, upper }, band, cursor, start, end, sums);
		return;
	}
	const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
	let atOrAbove = 0;
	let atUpper = 0;
	let atLower = 0;
	let batched = 0;
	const flush = (): void => {
		const place = Atomics.add(cursor, 0, batched);
		if (place + batched <= band.length) {
			band.set(BAND_BATCH.subarray(0, batched), place);
		}
		batched = 0;
	};
	for (let j = start; j < end; j++) {
		const b = (bits[j] as number) & 0x7fffffff;
		if (b >= upper) {
			atOrAbove++;
			atUpper += +(b === upper);
		} else if (b === lower) {
			atLower++;
		} else if (b >= from) {
			BAND_BATCH[batched++] = b;
			if (batched === BAND_BATCH.length) {
				flush();
			}
		}
	}
	flush();
	sums[0] = (sums[0] as number) + atOrAbove;
	sums[1] = (sums[1] as number) + atUpper;
	sums[2] = (sums[2] as number) + atLower;
};

/** Elements per block of keepMagnitudeRanks' tie counts: thread split points fall between blocks. */
export const KEEP_BLOCK = 65536;

/**
 * Counts, per KEEP_BLOCK, the elements whose magnitude equals the upper and the lower boundary: arrays [values,
 * counts]; numbers [upperBits, lowerBits]; counts[2·block] and counts[2·block + 1] receive them.
 */
const countMagnitudeTies: RangeKernel = (args, start, end) => {
	const values = f32(args, 0);
	const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
	const [upperBits, lowerBits] = args.numbers as [number, number];
	tiesPerBlock(args.arrays[1] as Float64Array, start, end, (from, to) => {
		if (simdEnabled()) {
			return countMagnitudeTiesSimd(values, upperBits, lowerBits, from, to);
		}
		let upper = 0;
		let lower = 0;
		for (let j = from; j < to; j++) {
			const b = (bits[j] as number) & 0x7fffffff;
			upper += +(b === upperBits);
			lower += +(b === lowerBits);
		}
		return [upper, lower];
	});
};

/** Stores `count`'s tie counts [upper, lower] of each KEEP_BLOCK in [start, end) at counts[2·block], [2·block + 1]. */
function tiesPerBlock(
	counts: Float64Array,
	start: number,
	end: number,
	count: (from: number, to: number) => [number, number],
): void {
	for (let from = start; from < end; from += KEEP_BLOCK) {
		const block = Math.floor(from / KEEP_BLOCK);
		[counts[2 * block], counts[2 * block + 1]] = count(from, Math.min(end, from + KEEP_BLOCK));
	}
}

/**
 * magnitude-histogram of the task vector δ = round(x − b) of a bf16 merge, made a block at a time instead of stored:
 * arrays [x, b]; numbers [high]. SIMD only, for the one-pass TIES (see combineMadeTaskVectors).
 */
const taskVectorHistogram: RangeKernel = (args, start, end, sums) => {
	const [x, b] = args.arrays as [RangeArray, RangeArray];
	const high = args.numbers[0] as number;
	if (high < 0) {
		taskVectorHistogramSimd(x, b, start, end, sums);
		return;
	}
	magnitudeHistogramSimd(taskVectorBlocks(x, b), high, start, end, sums);
};

/** count-magnitude-ties of the task vector δ = round(x − b) of a bf16 merge: arrays [x, b, counts]. SIMD only. */
const taskVectorCountTies: RangeKernel = (args, start, end) => {
	const [x, b, counts] = args.arrays as [RangeArray, RangeArray, Float64Array];
	const [upperBits, lowerBits] = args.numbers as [number, number];
	tiesPerBlock(counts, start, end, (from, to) =>
		countMagnitudeTiesSimd(taskVectorBlocks(x, b), upperBits, lowerBits, from, to),
	);
};

/** How combine-made-task-vectors prunes each task vector (its first number). */
export const PRUNE_KINDS = ["none", "keep-ranks", "dare", "dare-bits"] as const;

/**
 * The task-arithmetic family in a bf16 merge in one pass (see combineMadeTaskVectors): arrays [out, b, ...x], then
 * for dare-bits each model's mask words (see dareMaskSimd; empty for a model not pruned); numbers [prune kind (an
 * index of PRUNE_KINDS), elect (1: TIES' sign election, 0: the plain weighted sum), normalize, lambda, divisor,
 * ...weights, then per model the pruning's numbers: upperBits, lowerBits, upperCut and lowerCut for keep-ranks (see
 * RankCut); threshold (−1: not pruned), k0, k1 and the rescale ratio (0: not rescaled) for dare and dare-bits]. Sums
 * as task-combine's. SIMD only.
 */
const combineMadeVectors: RangeKernel = (args, start, end, sums) => {
	const [kind, elect, normalize, lambda, divisor] = args.numbers as [number, number, number, number, number];
	const withWords = PRUNE_KINDS[kind] === "dare-bits";
	const [out, b, ...rest] = args.arrays as [ResultArray, RangeArray, ...RangeArray[]];
	const count = withWords ? rest.length / 2 : rest.length;
	const xs = rest.slice(0, count);
	const weights = args.numbers.slice(5, 5 + count);
	const numbers = args.numbers.slice(5 + count);
	let prune: PruneBlock = () => undefined;
	let dareMasks: DareMask[] | undefined;
	if (PRUNE_KINDS[kind] === "keep-ranks") {
		prune = keepRanksBlock(
			xs.map((_, i) => {
				const [upperBits, lowerBits, upperCut, lowerCut] = numbers.slice(4 * i, 4 * i + 4) as [
					number,
					number,
					number,
					number,
				];
				return { upperBits, lowerBits, upperCut, lowerCut };
			}),
		);
	} else if (PRUNE_KINDS[kind] === "dare" || withWords) {
		dareMasks = xs.map((_, i) => {
			const [threshold, k0, k1, ratio] = numbers.slice(4 * i, 4 * i + 4) as [number, number, number, number];
			return {
				k0,
				k1,
				...(threshold < 0 ? {} : { threshold }),
				...(ratio === 0 ? {} : { ratio }),
				...(withWords ? { words: rest[count + i] as Uint32Array } : {}),
			};
		});
		prune = dareBlock(dareMasks);
	}
	const baseBf16 = b instanceof Uint16Array;
	const bf16Out = out instanceof Uint16Array;
	const combine = elect
		? electedBlock(weights, normalize, lambda, baseBf16, bf16Out)
		: weightedSumBlock(weights, normalize, divisor, lambda, baseBf16, bf16Out);
	// The plain weighted sum over models stored as bfloat16 bits, unpruned or each masked and rescaled (from an element
	// a multiple of 8, whose step's bits share a word: see maskedLanes): its whole work in one kernel.
	const masks = !elect && dareMasks && start % 8 === 0 ? rescaledMasks(dareMasks) : undefined;
	const oneKernel =
		!elect && xs.every((x) => x instanceof Uint16Array) && (PRUNE_KINDS[kind] === "none" || masks !== undefined);
	const counts = oneKernel
		? taskSumSimd(out, b, xs as Uint16Array[], weights, { normalize, divisor, lambda }, start, end, masks)
		: combineMadeTaskVectors(out, b, xs, prune, combine, start, end);
	for (let i = 0; i < count; i++) {
		sums[i] = (sums[i] as number) + (counts[i] as number);
		sums[count + i] = (sums[count + i] as number) + (counts[3 + i] as number);
	}
};

/**
 * dare-mask's L1 norms of the task vector δ = round(x − b) of a bf16 merge, made as it is read and dropped: arrays
 * [x, b, norms, words]; numbers [threshold, k0, k1, offset], element j drawing as element offset + j of the tensor.
 * The mask is kept in `words` as bits. SIMD only.
 */
const taskVectorDareNorms: RangeKernel = (args, start, end) => {
	const [x, b, norms, words] = args.arrays as [RangeArray, RangeArray, Float64Array, Uint32Array];
	const [threshold, k0, k1, offset] = args.numbers as [number, number, number, number];
	for (let from = start; from < end; from += DARE_BLOCK) {
		const block = Math.floor(from / DARE_BLOCK);
		const to = Math.min(end, from + DARE_BLOCK);
		[norms[2 * block], norms[2 * block + 1]] = dareMaskMade(x, b, threshold, k0, k1, from, to, words, offset);
	}
};

/**
 * The masks kept as bits where every model is masked and rescaled, as task_sum_masked takes them; undefined where one
 * is not.
 */
function rescaledMasks(masks: readonly DareMask[]): { words: Uint32Array; ratio: number }[] | undefined {
	const rescaled: { words: Uint32Array; ratio: number }[] = [];
	for (const { threshold, ratio, words } of masks) {
		if (threshold === undefined || ratio === undefined || words === undefined) {
			return undefined;
		}
		rescaled.push({ words, ratio });
	}
	return rescaled;
}

/**
 * della-lanes' mask and L1 norms of the task vector δ = round(x − b) of a bf16 merge, made a lane at a time and
 * dropped (see dellaLaneMask), over lanes [start, end) of contiguous elements: arrays [x, b, norms, words]; numbers
 * [length, low, offset, step, k0, k1, first], element j drawing as element first + j of the tensor; norms as
 * della-lanes'. The mask is kept in `words` as bits, for combine-made-task-vectors' dare-bits. SIMD only.
 */
const taskVectorDellaMask: RangeKernel = (args, start, end) => {
	const [x, b, norms, words] = args.arrays as [RangeArray, RangeArray, Float64Array, Uint32Array];
	const [length, low, offset, step, k0, k1, first] = args.numbers as [
		number,
		number,
		number,
		number,
		number,
		number,
		number,
	];
	for (let lane = start; lane < end; lane++) {
		[norms[2 * lane], norms[2 * lane + 1]] = dellaLaneMask(
			x,
			b,
			lane * length,
			length,
			{ low, offset, step },
			{ k0, k1 },
			words,
			first,
		);
	}
};

/**
 * keepMagnitudeRanks' pass: zeroes the elements outside the boundaries. Arrays [values, before]; numbers [upperBits,
 * upperSkip, lowerBits, lowerKeep, upperCut, lowerCut]; before[2·block] and before[2·block + 1] say how many elements
 * equal to the upper and the lower boundary precede the block. Of the elements equal to the upper boundary, the
 * first upperSkip (by index) are dropped; of those equal to the lower boundary, only the first lowerKeep are kept.
 * The SIMD kernel takes the same decisions as indices: upper ties from upperCut on, lower ties before lowerCut.
 */
const keepMagnitudeRanksPass: RangeKernel = (args, start, end) => {
	const values = f32(args, 0);
	const before = args.arrays[1] as Float64Array;
	const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
	const [upperBits, upperSkip, lowerBits, lowerKeep, upperCut, lowerCut] = args.numbers as number[] as [
		number,
		number,
		number,
		number,
		number,
		number,
	];
	if (simdEnabled()) {
		keepMagnitudeRanksSimd(values, upperBits, lowerBits, upperCut, lowerCut, start, end);
		return;
	}
	for (let from = start; from < end; from += KEEP_BLOCK) {
		const to = Math.min(end, from + KEEP_BLOCK);
		const block = Math.floor(from / KEEP_BLOCK);
		let seenUpper = before[2 * block] as number;
		let seenLower = before[2 * block + 1] as number;
		for (let j = from; j < to; j++) {
			const raw = bits[j] as number;
			const b = raw & 0x7fffffff;
			if (b === upperBits || b === lowerBits) {
				// The boundary magnitudes: rare, so this branch is predictable; ties there go by index.
				let keep = true;
				if (b === upperBits) {
					keep = seenUpper >= upperSkip;
					seenUpper++;
				}
				if (b === lowerBits) {
					if (seenLower >= lowerKeep) {
						keep = false;
					}
					seenLower++;
				}
				if (!keep) {
					values[j] = 0;
				}
				continue;
			}
			// Strictly between the boundaries: kept. On the bits without a branch, since whether a random element
			// survives is unpredictable: `upperBits − b` and `b − lowerBits` are positive exactly when b lies inside.
			const inside = ((b - upperBits) >>> 31) & ((lowerBits - b) >>> 31);
			bits[j] = raw & -inside;
		}
	}
};

/** Elements per block of pair-sums: thread split points fall between blocks. */
export const PAIR_BLOCK = 65536;

/**
 * ‖a‖², ‖b‖² and ⟨a, b⟩ in float64 per PAIR_BLOCK, for slerp-style methods: arrays [a, b, sums] or [a, b, sums, c],
 * a, b (and c) float32 values or bfloat16 bits; with c, the vectors are a − c and b − c, each rounded to float32 (task
 * vectors made as they are read). sums[3·block + 0..2] receive them. Per block, four sums for each, one for each
 * element index mod 4, added in that order at the end (the order SIMD lanes add in).
 */
const pairSums: RangeKernel = (args, start, end) => {
	const [a, b, sums, c] = args.arrays as [RangeArray, RangeArray, Float64Array, RangeArray | undefined];
	const lanes = new Float64Array(12);
	for (let from = start; from < end; from += PAIR_BLOCK) {
		const to = Math.min(end, from + PAIR_BLOCK);
		const block = Math.floor(from / PAIR_BLOCK);
		if (simdEnabled()) {
			[sums[3 * block], sums[3 * block + 1], sums[3 * block + 2]] = pairSumsSimd(a, b, c, from, to);
			continue;
		}
		lanes.fill(0);
		for (let j = from; j < to; j++) {
			const x = c ? Math.fround(asFloat32(a, j) - asFloat32(c, j)) : asFloat32(a, j);
			const y = c ? Math.fround(asFloat32(b, j) - asFloat32(c, j)) : asFloat32(b, j);
			const lane = (j - from) & 3;
			lanes[lane] = (lanes[lane] as number) + x * x;
			lanes[4 + lane] = (lanes[4 + lane] as number) + y * y;
			lanes[8 + lane] = (lanes[8 + lane] as number) + x * y;
		}
		for (let i = 0; i < 3; i++) {
			sums[3 * block + i] = laneTotal(lanes, i);
		}
	}
};

/**
 * out = s₀a + s₁b, plus c where given, in float32 as NumPy and PyTorch compute a float32 array's s₀·a + s₁·b with
 * scalar coefficients (what slerp and nuslerp do): s₀ and s₁ rounded to float32, each product and sum rounded to
 * float32. Arrays [out, a, b] or [out, a, b, c] (a and b float32 values or bfloat16 bits, c float32); numbers [s₀, s₁].
 * With numbers [s₀, s₁, 1], the vectors are a − c and b − c, each rounded to float32 (c then of a's kind):
 * out = s₀(a − c) + s₁(b − c) + c. With SIMD, out may be bfloat16 bits, which the result is rounded into as it is
 * stored.
 */
const pairMix: RangeKernel = (args, start, end) => {
	const [result, a, b, c] = args.arrays as [ResultArray, RangeArray, RangeArray, RangeArray | undefined];
	const s0 = Math.fround(args.numbers[0] as number);
	const s1 = Math.fround(args.numbers[1] as number);
	const less = args.numbers[2] === 1;
	if (simdEnabled()) {
		pairMixSimd(result, a, b, c, less, s0, s1, start, end);
		return;
	}
	const out = f32(args, 0);
	for (let j = start; j < end; j++) {
		const base = c ? asFloat32(c, j) : 0;
		const x = less ? Math.fround(asFloat32(a, j) - base) : asFloat32(a, j);
		const y = less ? Math.fround(asFloat32(b, j) - base) : asFloat32(b, j);
		// A product of two float32 values is exact in float64, and one addition's double rounding is harmless.
		const mixed = Math.fround(Math.fround(s0 * x) + Math.fround(s1 * y));
		out[j] = c ? mixed + base : mixed;
	}
};

/**
 * NearSwap per element in float32, each operation rounded as PyTorch's float32 kernels round it (mergekit's
 * `t / |b − x|` is PyTorch's reciprocal times t): α = min(1, max(0, (1 / max(|b − x|, 1e-6))·t)),
 * out = αx + (1 − α)b. Arrays [out, b, x] (b and x float32 values or bfloat16 bits); numbers [t]. With SIMD, out may
 * be bfloat16 bits.
 */
const nearswapMix: RangeKernel = (args, start, end) => {
	const [result, b, x] = args.arrays as [ResultArray, RangeArray, RangeArray];
	const t = Math.fround(args.numbers[0] as number);
	if (simdEnabled()) {
		nearswapSimd(result, b, x, t, start, end);
		return;
	}
	const out = f32(args, 0);
	const floor = Math.fround(1e-6);
	for (let j = start; j < end; j++) {
		const bj = asFloat32(b, j);
		const xj = asFloat32(x, j);
		// float64 holds each float32 product exactly, and rounds a quotient of float32 values so that rounding it
		// again to float32 gives the float32 quotient.
		const distance = Math.abs(Math.fround(bj - xj));
		const reciprocal = Math.fround(1 / Math.max(distance, floor));
		const scaled = Math.fround(reciprocal * t);
		// The bounds as the SIMD kernel's pmax and pmin take them, where Math.max would make −0 into +0.
		// biome-ignore lint/complexity/useMathMinMax: pmax's order of zeros
		const raised = scaled < 0 ? 0 : scaled;
		// biome-ignore lint/complexity/useMathMinMax: pmin's order of zeros
		const alpha = 1 < raised ? 1 : raised;
		out[j] = Math.fround(alpha * xj) + Math.fround(Math.fround(1 - alpha) * bj);
	}
};

/**
 * SCE's per-element variance of the task vectors across models (population variance in float64, stored as float32):
 * arrays [variance, ...deltas]; sums[0] counts the nonzero variances.
 */
const sceVariance: RangeKernel = (args, start, end, sums) => {
	const variance = f32(args, 0);
	const deltas = args.arrays.slice(1) as Float32Array[];
	const count = deltas.length;
	let nonzero = 0;
	for (let j = start; j < end; j++) {
		let mean = 0;
		for (let i = 0; i < count; i++) {
			mean += (deltas[i] as Float32Array)[j] as number;
		}
		mean /= count;
		let sum = 0;
		for (let i = 0; i < count; i++) {
			const d = ((deltas[i] as Float32Array)[j] as number) - mean;
			sum += d * d;
		}
		variance[j] = sum / count;
		nonzero += +(variance[j] !== 0);
	}
	sums[0] = (sums[0] as number) + nonzero;
};

/** SCE's selection: every task vector zeroed where the (cut) variance is 0. Arrays [variance, ...deltas]. */
const sceSelect: RangeKernel = (args, start, end) => {
	const variance = f32(args, 0);
	const deltas = args.arrays.slice(1) as Float32Array[];
	for (let j = start; j < end; j++) {
		if (variance[j] === 0) {
			for (const delta of deltas) {
				delta[j] = 0;
			}
		}
	}
};

/**
 * SCE's sign election and finish over stored task vectors, in float32 as PyTorch computes a float32 merge: the votes
 * summed from +0 (see signElection), each agreeing vector's term xᵢ·sᵢ and weight sᵢ (float32 weights) added from +0,
 * and out = b + numerator / max(divisor, 1e-6), each step rounded to float32. A disagreeing vector's term is xᵢ·0, so
 * a NaN still reaches the result, as it does in PyTorch. Arrays [out, b, ...deltas]; numbers [...weights].
 */
const sceCombine: RangeKernel = (args, start, end) => {
	const [out, b, ...deltas] = args.arrays as [Float32Array, Float32Array, ...Float32Array[]];
	const weights = args.numbers;
	const count = deltas.length;
	const fround = Math.fround;
	for (let j = start; j < end; j++) {
		let vote = 0;
		for (let i = 0; i < count; i++) {
			vote = fround(vote + ((deltas[i] as Float32Array)[j] as number));
		}
		// − unless the sum is ≥ 0 (NaN elects −, as the SIMD kernels' bit test does).
		const negative = !(vote >= 0);
		let numerator = 0;
		let divisor = 0;
		for (let i = 0; i < count; i++) {
			const x = (deltas[i] as Float32Array)[j] as number;
			const weight = (negative ? x < 0 : x > 0) ? (weights[i] as number) : 0;
			numerator = fround(numerator + fround(x * weight));
			divisor = fround(divisor + weight);
		}
		out[j] = (b[j] as number) + fround(numerator / Math.max(divisor, SCE_DIVISOR_FLOOR));
	}
};

/**
 * sce-variance of the task vectors δᵢ = xᵢ − b made a block at a time instead of stored (see sceVarianceMade): arrays
 * [variance, b, ...x]; sums[0] counts the nonzero variances. SIMD only.
 */
const sceVarianceOfMade: RangeKernel = (args, start, end, sums) => {
	const [variance, b, ...xs] = args.arrays as [Float32Array, RangeArray, ...RangeArray[]];
	sums[0] = (sums[0] as number) + sceVarianceMade(variance, xs, b, start, end);
};

/**
 * SCE's selection from range-kernel arguments: the variance (the array after the task vectors' models) and numbers
 * [lowerBits, lowerCut] of its rank cut (see VarianceCut); none where no variance is given.
 */
function varianceCut(variance: RangeArray | undefined, numbers: readonly number[]): VarianceCut | undefined {
	const [lowerBits = -1, lowerCut = 0] = numbers;
	return variance ? { variance: variance as Float32Array, lowerBits, lowerCut } : undefined;
}

/**
 * Each made task vector's ‖δᵢ‖² per PAIR_BLOCK, after SCE's selection where a variance is given (see sceEnergiesMade):
 * arrays [energies, b, ...x, variance?]; numbers [count of x, lowerBits, lowerCut]; energies[count·block + i] receive
 * them. SIMD only.
 */
const sceEnergiesOfMade: RangeKernel = (args, start, end) => {
	const [count = 0, ...cutNumbers] = args.numbers;
	const [energies, b, ...rest] = args.arrays as [Float64Array, RangeArray, ...RangeArray[]];
	const cut = varianceCut(rest[count], cutNumbers);
	for (let from = start; from < end; from += PAIR_BLOCK) {
		const block = Math.floor(from / PAIR_BLOCK);
		energies.set(sceEnergiesMade(rest.slice(0, count), b, cut, from, Math.min(end, from + PAIR_BLOCK)), count * block);
	}
};

/**
 * SCE's selection, sign election and finish over task vectors made a block at a time (see sceCombineMade): arrays
 * [out, b, ...x, variance?]; numbers [lowerBits, lowerCut, ...weights]. SIMD only.
 */
const sceCombineOfMade: RangeKernel = (args, start, end) => {
	const [lowerBits = -1, lowerCut = 0, ...weights] = args.numbers;
	const [out, b, ...rest] = args.arrays as [ResultArray, RangeArray, ...RangeArray[]];
	const count = weights.length;
	const cut = varianceCut(rest[count], [lowerBits, lowerCut]);
	sceCombineMade(out, b, rest.slice(0, count), cut, weights, start, end);
};

/** bfloat16 bit patterns to float32: arrays [halves (Uint16Array), out (Float32Array)]. */
const decodeBf16: RangeKernel = (args, start, end) => {
	const halves = args.arrays[0] as Uint16Array;
	const out = f32(args, 1);
	if (simdEnabled()) {
		decodeBf16Simd(halves, out, start, end);
		return;
	}
	const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
	for (let i = start; i < end; i++) {
		bits[i] = (halves[i] as number) << 16;
	}
};

/** float32 to bfloat16 bit patterns, rounding to nearest even: arrays [values, halves (Uint16Array)]. */
const encodeBf16: RangeKernel = (args, start, end) => {
	const values = f32(args, 0);
	const halves = args.arrays[1] as Uint16Array;
	if (simdEnabled()) {
		encodeBf16Simd(values, halves, start, end);
		return;
	}
	const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
	for (let i = start; i < end; i++) {
		const b = bits[i] as number;
		halves[i] = (b & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
	}
};

/** Every range kernel, by the name worker threads know it by. */
export const RANGE_KERNELS = {
	"task-vector": taskVector,
	"scale-and-count": scaleAndCount,
	"sign-election": signElection,
	"task-finish": taskFinish,
	"task-combine": taskCombine,
	"dare-mask": dareMask,
	"della-lanes": dellaLanes,
	"task-vector-della-mask": taskVectorDellaMask,
	"magnitude-histogram": magnitudeHistogram,
	"magnitude-band": magnitudeBand,
	"count-magnitude-ties": countMagnitudeTies,
	"keep-magnitude-ranks": keepMagnitudeRanksPass,
	"task-vector-histogram": taskVectorHistogram,
	"task-vector-count-ties": taskVectorCountTies,
	"combine-made-task-vectors": combineMadeVectors,
	"task-vector-dare-norms": taskVectorDareNorms,
	"linear-mix": linearMix,
	"pair-sums": pairSums,
	"pair-mix": pairMix,
	nearswap: nearswapMix,
	"model-stock-lanes": modelStockLanes,
	"model-stock-sums": modelStockSums,
	"model-stock-mix": modelStockMix,
	"sce-variance": sceVariance,
	"sce-select": sceSelect,
	"sce-combine": sceCombine,
	"sce-variance-of-made": sceVarianceOfMade,
	"sce-energies-of-made": sceEnergiesOfMade,
	"sce-combine-of-made": sceCombineOfMade,
	"multislerp-gram": multislerpKernel("gram"),
	"multislerp-finish": multislerpKernel("finish"),
	"decode-bf16": decodeBf16,
	"encode-bf16": encodeBf16,
	// The merge report's measurements (src/insight), shared by the worker threads like the merge.
	"measure-task-vectors": measureRange,
} satisfies Record<string, RangeKernel>;

export type RangeKernelName = keyof typeof RANGE_KERNELS;
