import { measureRange } from "../../insight/measure-range.js";
import type { FloatDtype } from "../../safetensors/dtype.js";
import { roundArray } from "./round-array.js";

/** Typed views a range kernel reads and writes; on SharedArrayBuffers when worker threads run it. */
export type RangeArray = Float32Array | Float64Array | Uint16Array;

export interface RangeArgs {
	arrays: readonly RangeArray[];
	numbers: readonly number[];
	/** The dtype intermediates are rounded to (bf16/fp16 merges); undefined for float32. */
	dtype?: FloatDtype | undefined;
}

/**
 * A loop over elements [start, end) that touches element j of each array only at j, so any split of the range across
 * threads gives bit-identical results. `sums` receives counts (integers, so their order of addition does not matter).
 */
export type RangeKernel = (args: RangeArgs, start: number, end: number, sums: Float64Array) => void;

/** Elements per block of the kernels that round intermediates: the block's scratch stays in the first-level cache. */
const BLOCK = 4096;

const f32 = (args: RangeArgs, index: number): Float32Array => args.arrays[index] as Float32Array;

/** δ = round(x − b): arrays [x, b, delta]. */
const taskVector: RangeKernel = (args, start, end) => {
	const x = f32(args, 0);
	const b = f32(args, 1);
	const delta = f32(args, 2);
	for (let j = start; j < end; j++) {
		delta[j] = (x[j] as number) - (b[j] as number);
	}
	roundArray(delta, args.dtype, start, end);
};

/** Counts the nonzero elements of δ (sums[0]), then δ = round(w·δ): arrays [delta], numbers [w]. */
const scaleAndCount: RangeKernel = (args, start, end, sums) => {
	const delta = f32(args, 0);
	const bits = new Uint32Array(delta.buffer, delta.byteOffset, delta.length);
	const w = args.numbers[0] as number;
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
 * TIES sign election per element (see signConsensus, whose float32 partial sums it repeats exactly): arrays
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

/** The sign election with any vote scales (zero or negative ones included), element by element as signConsensus. */
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
			for (let k = 0; k < length; k++) {
				let mixed = 0;
				for (let i = 0; i < weighted.length; i++) {
					mixed += (weighted[i] as Float32Array)[from + k] as number;
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
 * merge (float64 and one final store in float32): arrays [out, ...inputs], numbers [divisor, ...weights].
 */
const linearMix: RangeKernel = (args, start, end) => {
	const out = f32(args, 0);
	const inputs = args.arrays.slice(1) as Float32Array[];
	const divisor = args.numbers[0] as number;
	const weights = args.numbers.slice(1);
	const dtype = args.dtype;
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
	const acc = new Float64Array(BLOCK);
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

/** bfloat16 bit patterns to float32: arrays [halves (Uint16Array), out (Float32Array)]. */
const decodeBf16: RangeKernel = (args, start, end) => {
	const halves = args.arrays[0] as Uint16Array;
	const out = f32(args, 1);
	const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
	for (let i = start; i < end; i++) {
		bits[i] = (halves[i] as number) << 16;
	}
};

/** float32 to bfloat16 bit patterns, rounding to nearest even: arrays [values, halves (Uint16Array)]. */
const encodeBf16: RangeKernel = (args, start, end) => {
	const values = f32(args, 0);
	const halves = args.arrays[1] as Uint16Array;
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
	"linear-mix": linearMix,
	"decode-bf16": decodeBf16,
	"encode-bf16": encodeBf16,
	// The merge report's measurements (src/insight), shared by the worker threads like the merge.
	"measure-task-vectors": measureRange,
} satisfies Record<string, RangeKernel>;

export type RangeKernelName = keyof typeof RANGE_KERNELS;
