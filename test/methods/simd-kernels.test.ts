import { afterEach, describe, expect, it } from "vitest";
import { kernelMemory, type MemoryRegion } from "../../src/engine/kernel-memory.js";
import { TOP_BUCKETS, TOP_SUMS } from "../../src/methods/kernels/magnitude-buckets.js";
import {
	DARE_BLOCK,
	PAIR_BLOCK,
	PRUNE_KINDS,
	RANGE_KERNELS,
	type RangeArgs,
	type RangeArray,
	type RangeKernelName,
} from "../../src/methods/kernels/range-kernels.js";
import { roundArray } from "../../src/methods/kernels/round-array.js";
import { roundBf16 } from "../../src/methods/kernels/round-bf16.js";
import { gramPairs } from "../../src/methods/kernels/simd/multislerp-simd.js";
import { SIMD_BLOCK, setSimdEnabled } from "../../src/methods/kernels/simd/simd-kernels.js";
import { dareThreshold } from "../../src/methods/kernels/sparsify-random.js";
import { SUM_BLOCK } from "../../src/methods/kernels/sum-block.js";
import { f32ToBf16 } from "../../src/safetensors/dtype.js";

/**
 * Every SIMD kernel against the JavaScript kernel it replaces, bit for bit, counts included: over more than two
 * blocks, from an offset that is not a multiple of four, to an end that is not either, with the values that stress
 * the arithmetic (zeros of both signs, subnormals, values that round to infinity, infinities and NaN), on plain arrays
 * and on arrays in kernel memory.
 */

function seeded(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
		return state / 2 ** 32;
	};
}

function values(n: number, seed: number, bf16: boolean): Float32Array {
	const next = seeded(seed);
	const out = new Float32Array(n);
	for (let j = 0; j < n; j++) {
		const u = next();
		out[j] =
			u < 0.15
				? 0
				: u < 0.2
					? -0
					: u < 0.25
						? 1e-39 * (next() - 0.5)
						: u < 0.27
							? 3.3e38 * Math.sign(next() - 0.5)
							: u < 0.28
								? Number.POSITIVE_INFINITY
								: u < 0.285
									? Number.NaN
									: (next() - 0.5) * 0.02;
	}
	if (bf16) {
		roundArray(out, "BF16");
	}
	return out;
}

const halvesOf = (x: Float32Array): Uint16Array => Uint16Array.from(x, (v) => f32ToBf16(v));

/** Bit patterns, with every NaN written as one (SIMD arithmetic may give NaN another sign or payload). */
function bits(array: Float32Array | Uint16Array): number[] {
	if (array instanceof Uint16Array) {
		return [...array];
	}
	return [...new Uint32Array(array.buffer.slice(array.byteOffset, array.byteOffset + array.byteLength))].map((b) =>
		(b & 0x7fffffff) > 0x7f800000 ? 0x7fc00000 : b,
	);
}

/** A copy of `array` in kernel memory, where the SIMD kernels work in place instead of copying blocks into slots. */
function inKernelMemory(array: RangeArray, regions: MemoryRegion[]): RangeArray {
	const region = kernelMemory().allocate(array.byteLength);
	if (region === undefined) {
		throw new Error("kernel memory is full");
	}
	regions.push(region);
	const Kind = array.constructor as new (buffer: SharedArrayBuffer, offset: number, length: number) => RangeArray;
	const copy = new Kind(region.buffer, region.byteOffset, array.length);
	copy.set(array as Float32Array & Uint16Array & Float64Array);
	return copy;
}

/**
 * Runs `kernel` on fresh copies of `arrays` with SIMD off and on; returns both results and both sums. With SIMD on
 * it runs twice, on plain arrays (copied block by block into slots) and on arrays in kernel memory (in place, the
 * ragged last block copied), and requires the two to agree.
 */
interface KernelRun {
	arrays: number[][];
	sums: number[];
}

/**
 * Fails naming the first element where two runs differ: a diff of whole arrays of this length takes minutes to
 * print.
 */
function expectSame(actual: KernelRun | undefined, expected: KernelRun | undefined): void {
	const differences = (a: readonly number[], b: readonly number[], what: string): string[] => {
		const at = a.length === b.length ? a.findIndex((value, j) => !Object.is(value, b[j])) : 0;
		return at < 0 ? [] : [`${what}, element ${at} of ${a.length}: ${a[at]} against ${b[at]} (of ${b.length})`];
	};
	const found = [
		...(actual?.arrays ?? []).flatMap((array, k) => differences(array, expected?.arrays[k] ?? [], `array ${k}`)),
		...differences(actual?.sums ?? [], expected?.sums ?? [], "sums"),
	];
	expect(found).toEqual([]);
}

function bothWays(
	kernel: RangeKernelName,
	args: RangeArgs,
	start: number,
	end: number,
	sumCount: number,
): [KernelRun | undefined, KernelRun | undefined] {
	const runs = [
		{ simd: false, inPlace: false },
		{ simd: true, inPlace: false },
		{ simd: true, inPlace: true },
	].map(({ simd, inPlace }) => {
		setSimdEnabled(simd);
		const regions: MemoryRegion[] = [];
		const arrays = args.arrays.map((array) => (inPlace ? inKernelMemory(array, regions) : array.slice()));
		const sums = new Float64Array(sumCount);
		RANGE_KERNELS[kernel]({ ...args, arrays }, start, end, sums);
		const result = { arrays: arrays.map((array) => bits(array as Float32Array | Uint16Array)), sums: [...sums] };
		for (const region of regions) {
			kernelMemory().release(region);
		}
		return result;
	});
	const [js, copied, inPlace] = runs;
	expectSame(inPlace, copied);
	return [js, copied];
}

const n = 2 * SIMD_BLOCK + 37;
const start = 5;
const end = n - 2;

afterEach(() => {
	setSimdEnabled(true);
});

describe("SIMD kernels match the JavaScript kernels bit for bit", () => {
	for (const count of [1, 2, 3]) {
		for (const [stored, normalised] of [
			[true, false],
			[false, false],
			[true, true],
		] as const) {
			const label = `${stored ? "bfloat16 bits" : "float32 values"}${normalised ? ", weights adding up to 1" : ""}`;
			it(`linear-mix, ${count} inputs, ${label}`, () => {
				const inputs = [1, 2, 3].slice(0, count).map((seed) => values(n, seed, true));
				const weights = (normalised ? [[1], [0.5, 0.5], [0.4, 0.3, 0.3]][count - 1] : [0.4, -0.35, 1.3])
					?.slice(0, count)
					.map(roundBf16) as number[];
				const divisor = roundBf16(weights.reduce((a, w) => a + w, 0));
				expect(divisor === 1).toBe(normalised);
				const [js, simd] = bothWays(
					"linear-mix",
					{
						arrays: [new Float32Array(n), ...inputs.map((x) => (stored ? halvesOf(x) : x))],
						numbers: [divisor, ...weights],
						dtype: "BF16",
					},
					start,
					end,
					0,
				);
				expectSame(simd, js);
			});
		}
	}

	// Kernels that write a bfloat16 merge's result as bfloat16 bits themselves: the bits must be the float32 result's,
	// encoded, whether the output lies in kernel memory or goes through a slot.
	const linearArgs = (out: Float32Array | Uint16Array): RangeArgs => {
		const weights = [0.4, -0.35, 1.3].map(roundBf16);
		return {
			arrays: [out, ...[1, 2, 3].map((seed) => halvesOf(values(n, seed, true)))],
			numbers: [roundBf16(weights.reduce((a, w) => a + w, 0)), ...weights],
			dtype: "BF16",
		};
	};
	const pairArgs =
		(stored: boolean, third: "none" | "plus" | "less") =>
		(out: Float32Array | Uint16Array): RangeArgs => {
			const kept = (x: Float32Array): Float32Array | Uint16Array => (stored ? halvesOf(x) : x);
			const c = values(n, 94, true);
			return {
				arrays: [
					out,
					kept(values(n, 92, true)),
					kept(values(n, 93, true)),
					...(third === "none" ? [] : third === "plus" ? [c] : [kept(c)]),
				],
				numbers: [0.6180339887, -1.3e-3, ...(third === "less" ? [1] : [])],
			};
		};
	const nearswapArgs = (out: Float32Array | Uint16Array): RangeArgs => {
		const b = values(n, 100, true);
		const x = values(n, 101, true).map((v, j) => (j % 2 === 0 ? v : (b[j] as number) + v * 1e-3));
		return { arrays: [out, halvesOf(b), halvesOf(x)], numbers: [1e-4] };
	};
	const modelStockArgs = (out: Float32Array | Uint16Array): RangeArgs => ({
		arrays: [out, ...[102, 103, 104].map((seed) => halvesOf(values(n, seed, true)))],
		numbers: [0.8371],
	});
	const multislerpArgs =
		(withBase: boolean) =>
		(out: Float32Array | Uint16Array): RangeArgs => ({
			arrays: [out, ...[105, 106, 107].map((seed) => halvesOf(values(n, seed, true)))],
			numbers: withBase ? [1, 0.72, 0.6, 0.4] : [0, 0.72, 0.6, 0.4, -0.3],
		});
	for (const [label, kernel, args] of [
		["linear-mix", "linear-mix", linearArgs],
		["multislerp-finish, with a base", "multislerp-finish", multislerpArgs(true)],
		["multislerp-finish, three models", "multislerp-finish", multislerpArgs(false)],
		["model-stock-mix", "model-stock-mix", modelStockArgs],
		["pair-mix of bfloat16 bits", "pair-mix", pairArgs(true, "none")],
		["pair-mix of float32 values plus a third array", "pair-mix", pairArgs(false, "plus")],
		["pair-mix less a third array and plus it", "pair-mix", pairArgs(true, "less")],
		["nearswap", "nearswap", nearswapArgs],
	] as const) {
		it(`${label} into bfloat16 bits: the float32 result encoded, in place and through a slot`, () => {
			const values32 = new Float32Array(n);
			RANGE_KERNELS[kernel](args(values32), start, end, new Float64Array(0));
			const expected = new Uint16Array(n);
			RANGE_KERNELS["encode-bf16"]({ arrays: [values32, expected], numbers: [] }, start, end, new Float64Array(0));
			const regions: MemoryRegion[] = [];
			for (const out of [new Uint16Array(n), inKernelMemory(new Uint16Array(n), regions) as Uint16Array]) {
				RANGE_KERNELS[kernel](args(out), start, end, new Float64Array(0));
				expect(out.findIndex((bits, j) => bits !== expected[j])).toBe(-1);
			}
			for (const region of regions) {
				kernelMemory().release(region);
			}
		});
	}

	for (const dtype of ["BF16", undefined] as const) {
		for (const stored of [true, false]) {
			it(`task-vector, ${dtype ?? "F32"} merge, ${stored ? "bfloat16 bits" : "float32 values"}`, () => {
				const x = values(n, 11, true);
				const [js, simd] = bothWays(
					"task-vector",
					{ arrays: [stored ? halvesOf(x) : x, values(n, 12, true), new Float32Array(n)], numbers: [], dtype },
					start,
					end,
					0,
				);
				expectSame(simd, js);
			});
		}
		it(`scale-and-count, ${dtype ?? "F32"} merge, a weight and a rescale ratio`, () => {
			const [js, simd] = bothWays(
				"scale-and-count",
				{ arrays: [values(n, 21, false)], numbers: [roundBf16(-0.7)], dtype },
				start,
				end,
				1,
			);
			expectSame(simd, js);
			expect(simd?.sums[0]).toBeGreaterThan(0);
			// A ratio of L1 norms is no float32 value: the product is rounded once, from float64.
			const [jsRatio, simdRatio] = bothWays(
				"scale-and-count",
				{ arrays: [values(n, 22, false)], numbers: [1.2345678912345], dtype },
				start,
				end,
				1,
			);
			expectSame(simdRatio, jsRatio);
			// A float32 weight with a full mantissa over float32 values: its float32 product is the float64 one rounded.
			const [jsFull, simdFull] = bothWays(
				"scale-and-count",
				{ arrays: [values(n, 23, false)], numbers: [Math.fround(0.123456789)], dtype },
				start,
				end,
				1,
			);
			expectSame(simdFull, jsFull);
		});
	}

	for (const count of [1, 2, 3]) {
		for (const [normalize, lambda, baseStored, bf16Out] of [
			[1, 1, true, false],
			[0, 0.7, false, false],
			[1, 1, true, true],
			[0, 0.7, true, true],
		] as const) {
			it(`plain task arithmetic in one kernel, ${count} models, normalize ${normalize}, lambda ${lambda}${bf16Out ? ", into bfloat16 bits" : ""}`, () => {
				// Against task-vector, scale-and-count and task-finish in JavaScript, pass after pass.
				const base = values(n, 40, true);
				const xs = [41, 42, 43].slice(0, count).map((seed) => values(n, seed, true));
				const weights = [0.5, -0.3, 1.25].slice(0, count).map(roundBf16);
				const divisor = roundBf16(weights.reduce((a, w) => a + w, 0));
				setSimdEnabled(false);
				const kept: number[] = [];
				const weighted = xs.map((x) => {
					const delta = new Float32Array(n);
					RANGE_KERNELS["task-vector"](
						{ arrays: [x, base, delta], numbers: [], dtype: "BF16" },
						start,
						end,
						new Float64Array(0),
					);
					const nonzero = new Float64Array(1);
					RANGE_KERNELS["scale-and-count"](
						{ arrays: [delta], numbers: [weights[kept.length] as number], dtype: "BF16" },
						start,
						end,
						nonzero,
					);
					kept.push(nonzero[0] as number);
					return delta;
				});
				const expected = new Float32Array(n);
				RANGE_KERNELS["task-finish"](
					{ arrays: [expected, base, expected, ...weighted], numbers: [0, normalize, divisor, lambda], dtype: "BF16" },
					start,
					end,
					new Float64Array(0),
				);
				setSimdEnabled(true);
				const regions: MemoryRegion[] = [];
				const out = inKernelMemory(bf16Out ? new Uint16Array(n) : new Float32Array(n), regions) as
					| Float32Array
					| Uint16Array;
				const b = inKernelMemory(baseStored ? halvesOf(base) : base, regions);
				const halves = xs.map((x) => inKernelMemory(halvesOf(x), regions));
				const sums = new Float64Array(2 * count);
				RANGE_KERNELS["combine-made-task-vectors"](
					{
						arrays: [out, b, ...halves],
						numbers: [PRUNE_KINDS.indexOf("none"), 0, normalize, lambda, divisor, ...weights],
						dtype: "BF16",
					},
					start,
					end,
					sums,
				);
				const got = bits(out);
				for (const region of regions) {
					kernelMemory().release(region);
				}
				const encoded = new Uint16Array(n);
				RANGE_KERNELS["encode-bf16"]({ arrays: [expected, encoded], numbers: [] }, start, end, new Float64Array(0));
				expectSame(
					{ arrays: [got], sums: [...sums] },
					{ arrays: [bits(bf16Out ? encoded : expected)], sums: [...kept, 0, 0, 0].slice(0, 2 * count) },
				);
			});
		}
	}

	for (const count of [1, 2, 3]) {
		for (const [normalize, lambda] of [
			[1, 1],
			[0, 0.7],
			[1, 1.1],
		] as const) {
			it(`task-combine, ${count} models, normalize ${normalize}, lambda ${lambda}`, () => {
				const deltas = [31, 32, 33].slice(0, count).map((seed) => values(n, seed, true));
				const weights = [0.5, -0.3, 1.25].slice(0, count).map(roundBf16);
				const [js, simd] = bothWays(
					"task-combine",
					{
						arrays: [new Float32Array(n), values(n, 30, true), ...deltas],
						numbers: [normalize, lambda, ...weights],
						dtype: "BF16",
					},
					start,
					end,
					2 * count,
				);
				expectSame(simd, js);
			});
		}
	}

	for (const count of [1, 2, 3]) {
		for (const [normalize, lambda] of [
			[1, 1],
			[0, 0.7],
			[1, 1.1],
		] as const) {
			it(`task-finish (the plain weighted sum), ${count} models, normalize ${normalize}, lambda ${lambda}`, () => {
				const weighted = [41, 42, 43].slice(0, count).map((seed) => values(n, seed, true));
				const [js, simd] = bothWays(
					"task-finish",
					{
						arrays: [new Float32Array(n), values(n, 40, true), new Float32Array(n), ...weighted],
						numbers: [0, normalize, roundBf16(0.9), lambda],
						dtype: "BF16",
					},
					start,
					end,
					0,
				);
				expectSame(simd, js);
			});
		}
	}

	it("decode-bf16", () => {
		const [js, simd] = bothWays(
			"decode-bf16",
			{ arrays: [halvesOf(values(n, 41, true)), new Float32Array(n)], numbers: [] },
			start,
			end,
			0,
		);
		expectSame(simd, js);
	});

	it("encode-bf16", () => {
		const [js, simd] = bothWays(
			"encode-bf16",
			{ arrays: [values(n, 50, false), new Uint16Array(n)], numbers: [] },
			start,
			end,
			0,
		);
		expectSame(simd, js);
	});

	/** Boundaries that occur many times in the bf16-rounded values: the magnitude of a common value, and zero. */
	const magnitudes = values(n, 60, true);
	const magnitudeBits = new Uint32Array(magnitudes.buffer);
	const frequency = new Map<number, number>();
	for (const b of magnitudeBits) {
		const magnitude = b & 0x7fffffff;
		frequency.set(magnitude, (frequency.get(magnitude) ?? 0) + 1);
	}
	// The most frequent finite magnitude other than zero.
	const [common] = [...frequency]
		.filter(([magnitude]) => magnitude !== 0 && magnitude < 0x7f800000)
		.reduce((best, entry) => (entry[1] > best[1] ? entry : best));
	for (const [upper, lower] of [
		[0x7f800000, common],
		[common, 0],
		[common, common],
		// No upper bound (rank 0 kept) and no lower bound (the last rank kept), as keepMagnitudeRanks passes them.
		[0x80000000, common],
		[common, -1],
	] as const) {
		const boundaries = `upper 0x${upper.toString(16)}, lower ${lower < 0 ? "none" : `0x${lower.toString(16)}`}`;
		it(`count-magnitude-ties, ${boundaries}`, () => {
			const [js, simd] = bothWays(
				"count-magnitude-ties",
				{ arrays: [magnitudes, new Float64Array(2)], numbers: [upper, lower] },
				start,
				end,
				0,
			);
			expectSame(simd, js);
			expect(Math.max(...(simd?.arrays[1] ?? []))).toBeGreaterThan(0);
		});
		it(`keep-magnitude-ranks, ${boundaries}`, () => {
			// Two upper and three lower ties come before `start`; the index cuts say the same as those counts.
			const cuts = [upper, lower].map((bits, which) => {
				let seen = which === 0 ? 2 : 3;
				const ordinal = which === 0 ? 5 : 7;
				for (let j = start; j < n; j++) {
					if (((new Uint32Array(magnitudes.buffer)[j] as number) & 0x7fffffff) === bits && seen++ === ordinal) {
						return j;
					}
				}
				return n;
			});
			const [js, simd] = bothWays(
				"keep-magnitude-ranks",
				{ arrays: [magnitudes, Float64Array.from([2, 3])], numbers: [upper, 5, lower, 7, ...cuts] },
				start,
				end,
				0,
			);
			expectSame(simd, js);
		});
	}

	for (const bf16 of [true, false]) {
		it(`magnitude-histogram, both passes, ${bf16 ? "bfloat16" : "float32"} values`, () => {
			const x = values(n, 70, bf16);
			const [js, simd] = bothWays("magnitude-histogram", { arrays: [x], numbers: [-1] }, start, end, TOP_SUMS);
			expectSame(simd, js);
			// Where no value has low bits (bfloat16 ones), the first pass says so, and the second is skipped.
			expect(simd?.sums[TOP_BUCKETS] === 0).toBe(bf16);
			// A bucket of few elements, and bucket 0 of the zeros and subnormals, several in most steps of four.
			const sparse = ((new Uint32Array(x.buffer)[4000] as number) & 0x7fffffff) >>> 16;
			for (const high of [sparse, 0]) {
				const [jsLow, simdLow] = bothWays("magnitude-histogram", { arrays: [x], numbers: [high] }, start, end, 65536);
				expect(simdLow).toEqual(jsLow);
				expect(simdLow?.sums.reduce((total, count) => total + count, 0)).toBeGreaterThan(0);
			}
		});
	}

	it("magnitude-band: counts at and above the upper edge, at it and at the lower, and gathers those between", () => {
		const x = values(n, 72, false);
		const magnitudes = [...new Uint32Array(x.buffer)].map((b) => b & 0x7fffffff);
		const small = Math.min(magnitudes[4001] as number, magnitudes[4003] as number);
		const large = Math.max(magnitudes[4001] as number, magnitudes[4003] as number);
		const open = { lower: 0xffffffff, upper: 0x80000000 };
		const edges: [lower: number, upper: number][] = [
			[small, large],
			[small, open.upper],
			[open.lower, large],
			// Zeros (a fifth of the data) at both edges: the band is that magnitude alone, counted once.
			[0, 0],
			// Everything finite and nonzero between, NaN above the infinities.
			[0, 0x7f800000],
		];
		for (const [lower, upper] of edges) {
			const from = lower === open.lower ? 0 : lower;
			const [js, simd] = bothWays(
				"magnitude-band",
				{ arrays: [x, new Uint32Array(n), new Uint32Array(1)], numbers: [from, lower, upper] },
				start,
				end,
				3,
			);
			expectSame(simd, js);
			const range = magnitudes.slice(start, end);
			const between = range.filter((m) => m >= from && m < upper && m !== lower);
			expect(simd?.sums).toEqual([
				range.filter((m) => m >= upper).length,
				range.filter((m) => m === upper).length,
				range.filter((m) => m === lower && m < upper).length,
			]);
			expect(simd?.arrays[2]).toEqual([between.length]);
			expect(simd?.arrays[1]?.slice(0, between.length)).toEqual(between);
		}
	});

	for (const [xBits, bBits] of [
		[true, true],
		[true, false],
		[false, true],
		[false, false],
	] as const) {
		it(`task-vector-histogram's top buckets: the task vector made in registers and rounded, x ${xBits ? "bfloat16 bits" : "float32 values"}, b ${bBits ? "bfloat16 bits" : "float32 values"}`, () => {
			// bfloat16 values of all magnitudes, whose differences are mostly not bfloat16 values: the rounding decides
			// many buckets.
			const x = values(n, 71, true);
			const b = values(n, 72, true).map((v, j) => (j % 3 === 0 ? roundBf16((x[j] as number) * 0.99) : v));
			const delta = new Float32Array(n);
			RANGE_KERNELS["task-vector"](
				{ arrays: [x, b, delta], numbers: [], dtype: "BF16" },
				start,
				end,
				new Float64Array(0),
			);
			const expected = new Float64Array(TOP_SUMS);
			RANGE_KERNELS["magnitude-histogram"]({ arrays: [delta], numbers: [-1] }, start, end, expected);
			const made = new Float64Array(TOP_SUMS);
			const kept = (v: Float32Array, bits: boolean): Float32Array | Uint16Array => (bits ? halvesOf(v) : v);
			RANGE_KERNELS["task-vector-histogram"](
				{ arrays: [kept(x, xBits), kept(b, bBits)], numbers: [-1] },
				start,
				end,
				made,
			);
			expect(made.findIndex((count, k) => count !== expected[k])).toBe(-1);
		});
	}

	it("dare-mask, over two DARE blocks, its L1 norms included", () => {
		const length = DARE_BLOCK + 2 * SIMD_BLOCK + 37;
		const [js, simd] = bothWays(
			"dare-mask",
			{
				arrays: [values(length, 80, false), new Float64Array(4)],
				numbers: [dareThreshold(0.3), 0x9e3779b9, 12345],
			},
			0,
			length,
			0,
		);
		expectSame(simd, js);
		const kept = simd?.arrays[0]?.filter((b) => b !== 0).length ?? 0;
		expect(kept / length).toBeGreaterThan(0.2);
		expect(kept / length).toBeLessThan(0.3);
	});

	for (const stored of [true, false]) {
		const kind = stored ? "bfloat16 bits" : "float32 values";
		const kept = (x: Float32Array): Float32Array | Uint16Array => (stored ? halvesOf(x) : x);
		for (const less of [false, true]) {
			it(`pair-sums, over two blocks, ${kind}${less ? ", less a third array" : ""}`, () => {
				const length = PAIR_BLOCK + SIMD_BLOCK + 37;
				const a = values(length, 90, true).map((v) => (Number.isFinite(v) ? v : 1));
				const b = values(length, 91, true).map((v) => (Number.isFinite(v) ? v : -2));
				const c = values(length, 95, true).map((v) => (Number.isFinite(v) ? v : 0.5));
				const [js, simd] = bothWays(
					"pair-sums",
					{ arrays: [kept(a), kept(b), new Float64Array(6), ...(less ? [kept(c)] : [])], numbers: [] },
					0,
					length,
					0,
				);
				expectSame(simd, js);
			});
		}
		for (const third of ["none", "plus", "less"] as const) {
			it(`pair-mix, ${kind}${third === "none" ? "" : third === "plus" ? ", plus a third array" : ", less a third array and plus it"}`, () => {
				const a = values(n, 92, true);
				const b = values(n, 93, true);
				const c = values(n, 94, true);
				const [js, simd] = bothWays(
					"pair-mix",
					{
						arrays: [
							new Float32Array(n),
							kept(a),
							kept(b),
							...(third === "none" ? [] : third === "plus" ? [c] : [kept(c)]),
						],
						numbers: [0.6180339887, -1.3e-3, ...(third === "less" ? [1] : [])],
					},
					start,
					end,
					0,
				);
				expectSame(simd, js);
			});
		}
	}

	for (const stored of [true, false]) {
		it(`nearswap, ${stored ? "bfloat16 bits" : "float32 values"}`, () => {
			const b = values(n, 100, true);
			// Half the elements close to the base's, so that α takes values strictly between 0 and 1.
			const x = values(n, 101, true).map((v, j) => (j % 2 === 0 ? v : (b[j] as number) + v * 1e-3));
			const [js, simd] = bothWays(
				"nearswap",
				{ arrays: [new Float32Array(n), stored ? halvesOf(b) : b, stored ? halvesOf(x) : x], numbers: [1e-4] },
				start,
				end,
				0,
			);
			expectSame(simd, js);
		});
	}

	const finite = (seed: number, length: number): Float32Array =>
		values(length, seed, true).map((v) => (Number.isFinite(v) ? v : 0.5));

	for (const count of [2, 3]) {
		for (const stored of [true, false]) {
			for (const withBase of [false, true]) {
				const kind = `${count} models, ${stored ? "bfloat16 bits" : "float32 values"}${withBase ? ", with a base" : ""}`;
				const length = SUM_BLOCK + SIMD_BLOCK + 37;
				const inputs = [121, 122, 123, 124].slice(0, withBase ? count + 1 : count).map((seed) => {
					const x = finite(seed, length);
					return stored ? halvesOf(x) : x;
				});
				const scales = [0.7, -1.9e-2, 3.25].slice(0, count);
				it(`multislerp-gram, over two blocks, ${kind}`, () => {
					const pairs = (count * (count + 1)) / 2;
					const [js, simd] = bothWays(
						"multislerp-gram",
						{
							arrays: [new Float64Array(2 * pairs), ...inputs],
							numbers: [withBase ? 1 : 0, 0, ...scales],
						},
						0,
						length,
						0,
					);
					expectSame(simd, js);
					// Each inner product, block by block: ⟨xᵢ, xₖ⟩ of the vectors as the kernels make them.
					const decoded = (input: RangeArray | undefined): Float32Array | undefined =>
						input instanceof Uint16Array
							? new Float32Array(new Uint32Array(Array.from(input, (h) => h << 16)).buffer)
							: (input as Float32Array | undefined);
					const base = withBase ? decoded(inputs[count]) : undefined;
					const vectors = inputs
						.slice(0, count)
						.map((input) =>
							(decoded(input) as Float32Array).map((v, j) => (base ? Math.fround(v - (base[j] as number)) : v)),
						);
					const found = new Float64Array(2 * pairs);
					RANGE_KERNELS["multislerp-gram"](
						{ arrays: [found, ...inputs], numbers: [withBase ? 1 : 0, 0, ...scales] },
						0,
						length,
						new Float64Array(0),
					);
					[0, SUM_BLOCK].forEach((from, block) => {
						const dot = (i: number, k: number): number => {
							let sum = 0;
							for (let j = from; j < Math.min(length, from + SUM_BLOCK); j++) {
								sum += (vectors[i]?.[j] as number) * (vectors[k]?.[j] as number);
							}
							return sum;
						};
						gramPairs(count).forEach(([i, k], q) => {
							const sum = found[block * pairs + q] as number;
							const expected = dot(i, k);
							if (!Number.isFinite(expected)) {
								// Differences of the largest values overflow float32: no finite sum, in any order.
								expect(Number.isFinite(sum)).toBe(false);
								return;
							}
							expect(Math.abs(sum - expected)).toBeLessThanOrEqual(1e-12 * Math.sqrt(dot(i, i) * dot(k, k)));
						});
					});
				});
				it(`multislerp-finish, ${kind}`, () => {
					const [js, simd] = bothWays(
						"multislerp-finish",
						{
							arrays: [new Float32Array(length), ...inputs],
							numbers: [withBase ? 1 : 0, 0.83, ...scales],
						},
						start,
						length - 3,
						0,
					);
					expectSame(simd, js);
				});
			}
			const kind = `${count} models, ${stored ? "bfloat16 bits" : "float32 values"}`;
			const length = SUM_BLOCK + SIMD_BLOCK + 37;
			const inputs = [131, 132, 133, 134].slice(0, count + 1).map((seed) => {
				const x = finite(seed, length);
				return stored ? halvesOf(x) : x;
			});
			it(`model-stock-sums, over two blocks, ${kind}`, () => {
				const quantities = count + (count * (count - 1)) / 2;
				const [js, simd] = bothWays(
					"model-stock-sums",
					{ arrays: [new Float64Array(2 * quantities), ...inputs], numbers: [] },
					0,
					length,
					0,
				);
				expectSame(simd, js);
			});
			it(`model-stock-mix, ${kind}`, () => {
				const [js, simd] = bothWays(
					"model-stock-mix",
					{ arrays: [new Float32Array(length), ...inputs], numbers: [0.4142] },
					start,
					length - 3,
					0,
				);
				expectSame(simd, js);
			});
		}
	}

	for (const count of [1, 2, 3]) {
		it(`sign-election with unit votes and float64 scales, ${count} vectors`, () => {
			const vectors = [111, 112, 113].slice(0, count).map((seed) => values(n, seed, true));
			const scales = [0.3712, 1.2e-3, -0.8].slice(0, count);
			const weights = [0.3712, 1.2e-3, 2.5].slice(0, count);
			const [js, simd] = bothWays(
				"sign-election",
				{
					arrays: [new Float32Array(n), new Float32Array(n), ...vectors],
					numbers: [...vectors.map(() => 1), ...scales, ...weights],
				},
				start,
				end,
				count,
			);
			expectSame(simd, js);
		});
	}

	it("della-lanes: ranks, draws and norms over lanes of bfloat16 values, one lane with low bits set", () => {
		const length = 257;
		const count = 30;
		const delta = values(length * count, 141, true);
		// A value with low bits set: its lane is pruned in JavaScript. An all-zero lane: every rank a tie.
		delta[3 * length + 17] = 0.1;
		delta.fill(0, 5 * length, 6 * length);
		// Lanes whose magnitudes span few buckets, zeros and many ties among them, are ranked by a counting sort; the
		// others, spanning subnormals to infinities, by byte passes.
		const next = seeded(142);
		for (let j = 8 * length; j < 16 * length; j++) {
			const u = next();
			delta[j] = u < 0.2 ? 0 : Math.sign(u - 0.6) * (1 + Math.floor(next() * 40) / 64) * 2 ** -7;
		}
		const [js, simd] = bothWays(
			"della-lanes",
			{
				arrays: [delta, new Float64Array(2 * count)],
				numbers: [length, 1, 0.3, 0, 0.4 / (length - 1), 0x9e3779b9, 0x85ebca6b],
				elementsPerIndex: length,
			},
			1,
			count - 1,
			0,
		);
		expectSame(simd, js);
	});

	it("sce-variance-of-made: two task vectors' variances made from float32 inputs as the stored vectors' kernel makes them", () => {
		// Half the elements near one another (the float32 shortcut), half of magnitudes from 2⁻¹⁴⁹ to 2¹²⁷ side by side:
		// differences that float32 cannot hold, subnormal ones, ones whose squares overflow, and the stress values.
		const next = seeded(151);
		const wide = (): number =>
			next() < 0.5
				? (next() - 0.5) * 0.02
				: Math.fround(Math.sign(next() - 0.5) * (1 + next()) * 2 ** (Math.floor(next() * 277) - 149));
		const b = values(n, 152, false).map((v, j) => (j % 4 === 0 ? wide() : v));
		const xs = [153, 154].map((seed) => values(n, seed, false).map((v, j) => (j % 3 === 0 ? v : wide())));
		// Steps of four (from `start`) of exact differences, one of whose float32 square, times 0.25, rounds twice
		// (subnormal) or overflows.
		for (let j = start + 4; j < start + 20; j++) {
			b[j] = 0;
			(xs[0] as Float32Array)[j] = 2 ** -(j % 5);
			(xs[1] as Float32Array)[j] = 0;
		}
		(xs[0] as Float32Array)[start + 9] = 65537 * 2 ** -90;
		(xs[0] as Float32Array)[start + 14] = 1.5 * 2 ** 64;
		const deltas = xs.map((x) => x.map((v, j) => v - (b[j] as number)));
		const run = (kernel: RangeKernelName, arrays: RangeArray[]): KernelRun => {
			const variance = new Float32Array(n);
			const sums = new Float64Array(1);
			RANGE_KERNELS[kernel]({ arrays: [variance, ...arrays], numbers: [] }, start, end, sums);
			return { arrays: [bits(variance)], sums: [...sums] };
		};
		expectSame(run("sce-variance-of-made", [b, ...xs]), run("sce-variance", deltas));
	});
});
