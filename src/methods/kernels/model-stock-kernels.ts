import { asFloat32 } from "./as-float32.js";
import type { RangeArray, RangeKernel } from "./range-kernels.js";
import { MODEL_STOCK_SIMD_MAX, modelStockMixSimd, modelStockSumsSimd } from "./simd/model-stock-simd.js";
import { laneTotal, type ResultArray, simdEnabled } from "./simd/simd-kernels.js";
import { SUM_BLOCK } from "./sum-block.js";

/** Whether the SIMD kernels take these inputs [b, ...x]: two or three models, all float32 or all bfloat16 bits. */
export function modelStockInSimd(inputs: readonly RangeArray[]): boolean {
	const stored = inputs[0] instanceof Uint16Array;
	return (
		simdEnabled() &&
		inputs.length >= 3 &&
		inputs.length <= MODEL_STOCK_SIMD_MAX + 1 &&
		inputs.every((input) => input instanceof Uint16Array === stored)
	);
}

/**
 * Model Stock's t from the offsets' sums of squares ‖xᵢ − b‖² (`squares`) and their dot products ⟨xᵢ − b, xₘ − b⟩
 * for i < m in order (`dots`): the mean pairwise cosine (each clamped to [−1, 1]) gives t = k·cos / (1 + (k − 1)·cos).
 */
export function modelStockT(squares: ArrayLike<number>, dots: ArrayLike<number>): number {
	const count = squares.length;
	let cosSum = 0;
	let pair = 0;
	for (let i = 0; i < count; i++) {
		for (let m = i + 1; m < count; m++) {
			const norms = Math.sqrt(squares[i] as number) * Math.sqrt(squares[m] as number);
			const cos = (dots[pair] as number) / Math.max(norms, 1e-6);
			cosSum += Math.min(1, Math.max(-1, cos));
			pair++;
		}
	}
	const cos = cosSum / pair;
	return (count * cos) / (1 + (count - 1) * cos);
}

/** t rounded to float32, and 1 − t from it in float32, as mergekit's PyTorch holds them. */
function mixWeights(t: number): [number, number] {
	const t32 = Math.fround(t);
	return [t32, Math.fround(1 - t32)];
}

/**
 * out = t·mean(xᵢ) + (1 − t)·b in float32, each operation rounded to float32 as mergekit's PyTorch rounds it: the
 * sum from +0 in model order, divided by k, the products with t and 1 − t (see mixWeights), then their sum.
 */
function modelStockMixAt(
	out: Float32Array,
	b: RangeArray,
	xs: readonly RangeArray[],
	[t32, rest]: readonly [number, number],
	j: number,
): void {
	let sum = 0;
	for (const x of xs) {
		sum = Math.fround(sum + asFloat32(x, j));
	}
	const mean = Math.fround(sum / xs.length);
	// Each product of float32 values is exact in float64; one addition's double rounding is harmless.
	out[j] = Math.fround(t32 * mean) + Math.fround(rest * asFloat32(b, j));
}

/**
 * Model Stock over lanes [start, end) (see modelStock), each lane's sums added in index order in float64 (many short
 * lanes: filter_wise rows). Arrays [out, b, ...x]; numbers [length, stride]. Lanes are independent, so any split
 * gives the same result.
 */
export const modelStockLanes: RangeKernel = (args, start, end) => {
	const out = args.arrays[0] as Float32Array;
	const b = args.arrays[1] as Float32Array;
	const xs = args.arrays.slice(2) as Float32Array[];
	const [length, stride] = args.numbers as [number, number];
	const count = xs.length;
	const squares = new Float64Array(count);
	const dots = new Float64Array((count * (count - 1)) / 2);
	const block = length * stride;
	for (let lane = start; lane < end; lane++) {
		const first = Math.floor(lane / stride) * block + (lane % stride);
		let pair = 0;
		for (let i = 0; i < count; i++) {
			const xi = xs[i] as Float32Array;
			let sum = 0;
			for (let k = 0, j = first; k < length; k++, j += stride) {
				const o = (xi[j] as number) - (b[j] as number);
				sum += o * o;
			}
			squares[i] = sum;
			for (let m = i + 1; m < count; m++) {
				const xm = xs[m] as Float32Array;
				let dot = 0;
				for (let k = 0, j = first; k < length; k++, j += stride) {
					dot += ((xi[j] as number) - (b[j] as number)) * ((xm[j] as number) - (b[j] as number));
				}
				dots[pair++] = dot;
			}
		}
		const weights = mixWeights(modelStockT(squares, dots));
		for (let k = 0, j = first; k < length; k++, j += stride) {
			modelStockMixAt(out, b, xs, weights, j);
		}
	}
};

/**
 * Model Stock's sums over one whole-tensor lane, per SUM_BLOCK so that threads share it: arrays [sums, b, ...x] (b
 * and x float32 values or bfloat16 bits); sums[q·blocks + block] receives, for q < k, ‖x_q − b‖² and then ⟨xᵢ − b, xₘ − b⟩ for i < m in order. Per block,
 * four sums for each, one for each element index mod 4, added in that order at the end (as GraphBuilder.sum adds).
 */
export const modelStockSums: RangeKernel = (args, start, end) => {
	const sums = args.arrays[0] as Float64Array;
	const inputs = args.arrays.slice(1);
	const b = inputs[0] as RangeArray;
	const xs = inputs.slice(1);
	const count = xs.length;
	const quantities = count + (count * (count - 1)) / 2;
	const blocks = sums.length / quantities;
	const lanes = new Float64Array(4 * quantities);
	const offsets = new Float64Array(count);
	for (let from = start; from < end; from += SUM_BLOCK) {
		const to = Math.min(end, from + SUM_BLOCK);
		const block = Math.floor(from / SUM_BLOCK);
		if (modelStockInSimd(inputs)) {
			modelStockSumsSimd(inputs, from, to).forEach((total, q) => {
				sums[q * blocks + block] = total;
			});
			continue;
		}
		lanes.fill(0);
		for (let j = from; j < to; j++) {
			const lane = (j - from) & 3;
			const bj = asFloat32(b, j);
			for (let i = 0; i < count; i++) {
				const o = asFloat32(xs[i] as RangeArray, j) - bj;
				offsets[i] = o;
				lanes[4 * i + lane] = (lanes[4 * i + lane] as number) + o * o;
			}
			let q = count;
			for (let i = 0; i < count; i++) {
				for (let m = i + 1; m < count; m++, q++) {
					lanes[4 * q + lane] = (lanes[4 * q + lane] as number) + (offsets[i] as number) * (offsets[m] as number);
				}
			}
		}
		for (let q = 0; q < quantities; q++) {
			sums[q * blocks + block] = laneTotal(lanes, q);
		}
	}
};

/**
 * out = t·mean(xᵢ) + (1 − t)·b in float32 (see modelStockMixAt), element by element: arrays [out, b, ...x] (b and x
 * float32 values or bfloat16 bits; out bfloat16 bits only where modelStockInSimd takes the inputs); numbers [t].
 */
export const modelStockMix: RangeKernel = (args, start, end) => {
	const inputs = args.arrays.slice(1);
	const weights = mixWeights(args.numbers[0] as number);
	if (modelStockInSimd(inputs)) {
		modelStockMixSimd(args.arrays[0] as ResultArray, inputs, weights, start, end);
		return;
	}
	const out = args.arrays[0] as Float32Array;
	const b = inputs[0] as RangeArray;
	const xs = inputs.slice(1);
	for (let j = start; j < end; j++) {
		modelStockMixAt(out, b, xs, weights, j);
	}
};
