import { BF16_VALUES, NO_HALVES } from "../methods/kernels/bf16-values.js";
import type { RangeArgs } from "../methods/kernels/range-kernels.js";
import { simdEnabled } from "../methods/kernels/simd/simd-kernels.js";
import { MEASURE_SIMD_MAX, measureRangeSimd } from "./measure-range-simd.js";
import { measureSumLayout } from "./measure-sum-layout.js";

/** Elements per block of a sampled measurement (see measureRange's stride). */
export const MEASURE_BLOCK = 4096;

/**
 * The merge report's pass over elements [start, end) of one tensor, as a range kernel so that the executor's worker
 * threads share it like the merge itself: arrays [B, result, X₁, …, X_K]; adds into `sums` (laid out by
 * measureSumLayout) every sum measureTensor needs. Task vectors τᵢ = Xᵢ − B and Δ = result − B are recomputed per
 * element, never stored. Unlike the merge kernels' counts, these are float64 sums of products, whose last bits
 * depend on how the range is split: fine for a report rounded to 6 digits.
 */
export function measureRange(args: RangeArgs, start: number, end: number, sums: Float64Array): void {
	// numbers [stride]: only every stride-th MEASURE_BLOCK of the tensor (by absolute position) is measured.
	const stride = args.numbers[0] ?? 1;
	if (stride > 1) {
		for (let from = start; from < end; ) {
			const block = Math.floor(from / MEASURE_BLOCK);
			const to = Math.min(end, (block + 1) * MEASURE_BLOCK);
			if (block % stride === 0) {
				measureRange({ ...args, numbers: [1] }, from, to, sums);
			}
			from = to;
		}
		return;
	}
	const b = args.arrays[0] as ModelValues | undefined;
	const result = args.arrays[1] as Float32Array | Uint16Array | undefined;
	// The base's and the models' values are float32, or bfloat16 bit patterns as stored (decoded by lookup).
	const xs = args.arrays.slice(2) as (Float32Array | Uint16Array)[];
	if (!b || !result) {
		return;
	}
	const count = xs.length;
	if (measuresInSimd(xs)) {
		measureRangeSimd(b, result, xs, start, end, sums);
		return;
	}
	if (!(result instanceof Float32Array)) {
		throw new Error("the merge report measures a result stored as bfloat16 bits with the SIMD kernels only");
	}
	const y = result;
	// Most merges have one to three models: unrolled loops keep every sum in a register and run several times faster
	// than the general loop (about 5 and 10 ns per element against 30 and 50).
	if (count <= 2) {
		rangeTwo(b, xs[0] ?? b, xs[1] ?? b, y, start, end, sums, count);
	} else if (count === 3) {
		rangeThree(b, xs as [ModelValues, ModelValues, ModelValues], y, start, end, sums);
	} else {
		rangeAny(b, xs, y, start, end, sums);
	}
}

/**
 * Whether the measurement of these models runs the SIMD kernels, which also read a result stored as bfloat16 bits
 * (the JavaScript loops need it as float32 values).
 */
export function measuresInSimd(xs: readonly (Float32Array | Uint16Array)[]): boolean {
	const modelsBf16 = xs[0] instanceof Uint16Array;
	return (
		simdEnabled() &&
		xs.length >= 1 &&
		xs.length <= MEASURE_SIMD_MAX &&
		xs.every((x) => x instanceof Uint16Array === modelsBf16)
	);
}

/** Up to two models; a missing one is passed as B itself (a zero task vector, which never conflicts). */
function rangeTwo(
	b: ModelValues,
	x0: ModelValues,
	x1: ModelValues,
	y: Float32Array,
	start: number,
	end: number,
	sums: Float64Array,
	count: number,
): void {
	const [fb, hb, sb] = split(b);
	let baseSq = 0;
	let deltaSq = 0;
	let conflicts = 0;
	let n0 = 0;
	let n1 = 0;
	let d0 = 0;
	let d1 = 0;
	let g01 = 0;
	let w0 = 0;
	let w1 = 0;
	const [f0, h0, s0] = split(x0);
	const [f1, h1, s1] = split(x1);
	for (let j = start; j < end; j++) {
		const bj = sb ? (BF16_VALUES[hb[j] as number] as number) : (fb[j] as number);
		const d = (y[j] as number) - bj;
		const t0 = (s0 ? (BF16_VALUES[h0[j] as number] as number) : (f0[j] as number)) - bj;
		const t1 = (s1 ? (BF16_VALUES[h1[j] as number] as number) : (f1[j] as number)) - bj;
		baseSq += bj * bj;
		deltaSq += d * d;
		n0 += t0 * t0;
		n1 += t1 * t1;
		d0 += t0 * d;
		d1 += t1 * d;
		g01 += t0 * t1;
		// Branch-free: conflicting signs are as good as random, which a branch would mispredict half the time.
		const conflict = +(t0 * t1 < 0);
		conflicts += conflict;
		w0 += conflict & +(t0 * d > 0);
		w1 += conflict & +(t1 * d > 0);
	}
	// With two opposite signs, a nonzero Δ sides with exactly one model: the other conflicts stayed at the base.
	add(sums, 0, [baseSq, deltaSq, conflicts, conflicts - w0 - w1]);
	const layout = measureSumLayout(count);
	add(sums, layout.normSq, [n0, n1].slice(0, count));
	add(sums, layout.dotDelta, [d0, d1].slice(0, count));
	add(sums, layout.wins, [w0, w1].slice(0, count));
	add(sums, layout.contested, [conflicts, conflicts].slice(0, count));
	if (count === 2) {
		add(sums, layout.gram, [g01]);
	}
}

function rangeThree(
	b: ModelValues,
	[x0, x1, x2]: readonly [ModelValues, ModelValues, ModelValues],
	y: Float32Array,
	start: number,
	end: number,
	sums: Float64Array,
): void {
	const [fb, hb, sb] = split(b);
	let baseSq = 0;
	let deltaSq = 0;
	let conflicts = 0;
	let atBase = 0;
	let n0 = 0;
	let n1 = 0;
	let n2 = 0;
	let d0 = 0;
	let d1 = 0;
	let d2 = 0;
	let g01 = 0;
	let g02 = 0;
	let g12 = 0;
	let w0 = 0;
	let w1 = 0;
	let w2 = 0;
	let c0 = 0;
	let c1 = 0;
	let c2 = 0;
	const [f0, h0, s0] = split(x0);
	const [f1, h1, s1] = split(x1);
	const [f2, h2, s2] = split(x2);
	for (let j = start; j < end; j++) {
		const bj = sb ? (BF16_VALUES[hb[j] as number] as number) : (fb[j] as number);
		const d = (y[j] as number) - bj;
		const t0 = (s0 ? (BF16_VALUES[h0[j] as number] as number) : (f0[j] as number)) - bj;
		const t1 = (s1 ? (BF16_VALUES[h1[j] as number] as number) : (f1[j] as number)) - bj;
		const t2 = (s2 ? (BF16_VALUES[h2[j] as number] as number) : (f2[j] as number)) - bj;
		baseSq += bj * bj;
		deltaSq += d * d;
		n0 += t0 * t0;
		n1 += t1 * t1;
		n2 += t2 * t2;
		d0 += t0 * d;
		d1 += t1 * d;
		d2 += t2 * d;
		g01 += t0 * t1;
		g02 += t0 * t2;
		g12 += t1 * t2;
		const conflict = (+(t0 > 0) | +(t1 > 0) | +(t2 > 0)) & (+(t0 < 0) | +(t1 < 0) | +(t2 < 0));
		conflicts += conflict;
		atBase += conflict & +(d === 0);
		w0 += conflict & +(t0 * d > 0);
		w1 += conflict & +(t1 * d > 0);
		w2 += conflict & +(t2 * d > 0);
		c0 += conflict & +(t0 !== 0);
		c1 += conflict & +(t1 !== 0);
		c2 += conflict & +(t2 !== 0);
	}
	const layout = measureSumLayout(3);
	add(sums, 0, [baseSq, deltaSq, conflicts, atBase]);
	add(sums, layout.normSq, [n0, n1, n2]);
	add(sums, layout.dotDelta, [d0, d1, d2]);
	add(sums, layout.wins, [w0, w1, w2]);
	add(sums, layout.contested, [c0, c1, c2]);
	add(sums, layout.gram, [g01, g02, g12]);
}

/** Any number of models: the general loop, with one element's task-vector values in a scratch array. */
function rangeAny(
	b: ModelValues,
	xs: readonly ModelValues[],
	y: Float32Array,
	start: number,
	end: number,
	sums: Float64Array,
): void {
	const [fb, hb, sb] = split(b);
	const count = xs.length;
	const layout = measureSumLayout(count);
	const tau = new Float64Array(count);
	const local = new Float64Array(layout.length);
	for (let j = start; j < end; j++) {
		const bj = sb ? (BF16_VALUES[hb[j] as number] as number) : (fb[j] as number);
		const d = (y[j] as number) - bj;
		local[0] = (local[0] as number) + bj * bj;
		local[1] = (local[1] as number) + d * d;
		let positive = 0;
		let negative = 0;
		let pair = layout.gram;
		for (let i = 0; i < count; i++) {
			const x = xs[i] as ModelValues;
			const v = (x instanceof Uint16Array ? (BF16_VALUES[x[j] as number] as number) : (x[j] as number)) - bj;
			tau[i] = v;
			positive |= +(v > 0);
			negative |= +(v < 0);
			local[layout.normSq + i] = (local[layout.normSq + i] as number) + v * v;
			local[layout.dotDelta + i] = (local[layout.dotDelta + i] as number) + v * d;
		}
		for (let i = 0; i < count; i++) {
			const v = tau[i] as number;
			for (let k = i + 1; k < count; k++, pair++) {
				local[pair] = (local[pair] as number) + v * (tau[k] as number);
			}
		}
		if (positive & negative) {
			local[2] = (local[2] as number) + 1;
			local[3] = (local[3] as number) + +(d === 0);
			for (let i = 0; i < count; i++) {
				const v = tau[i] as number;
				local[layout.contested + i] = (local[layout.contested + i] as number) + +(v !== 0);
				local[layout.wins + i] = (local[layout.wins + i] as number) + +(v * d > 0);
			}
		}
	}
	add(sums, 0, local);
}

/** A model's values: float32, or bfloat16 bit patterns as stored. */
type ModelValues = Float32Array | Uint16Array;

const NO_VALUES = new Float32Array(0);

/** The two typed views of a model's values, one of them empty, and whether it is the bfloat16 one. */
function split(x: ModelValues): [Float32Array, Uint16Array, boolean] {
	return x instanceof Uint16Array ? [NO_VALUES, x, true] : [x, NO_HALVES, false];
}

function add(sums: Float64Array, offset: number, values: ArrayLike<number>): void {
	for (let i = 0; i < values.length; i++) {
		sums[offset + i] = (sums[offset + i] as number) + (values[i] as number);
	}
}
