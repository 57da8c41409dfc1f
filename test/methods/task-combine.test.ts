import { describe, expect, it } from "vitest";
import { RANGE_KERNELS } from "../../src/methods/kernels/range-kernels.js";
import { roundArray } from "../../src/methods/kernels/round-array.js";
import { BF16_SPLIT, MIN_NORMAL, roundBf16, roundBf16Bits } from "../../src/methods/kernels/round-bf16.js";
import { weightSumsRound } from "../../src/methods/kernels/simd/task-arithmetic-simd.js";
import type { FloatDtype } from "../../src/safetensors/dtype.js";

/** Seeded task vectors with the values that stress the arithmetic: zeros of both signs, ties, tiny and huge ones. */
function taskVectors(count: number, n: number, seed: number, dtype: FloatDtype | undefined): Float32Array[] {
	let state = seed >>> 0;
	const next = (): number => {
		state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
		return state / 2 ** 32;
	};
	return Array.from({ length: count }, () => {
		const values = new Float32Array(n);
		for (let j = 0; j < n; j++) {
			const u = next();
			values[j] =
				u < 0.2 ? 0 : u < 0.25 ? -0 : u < 0.3 ? 1e-39 * (next() - 0.5) : u < 0.32 ? 3e38 : (next() - 0.5) * 0.02;
		}
		roundArray(values, dtype);
		return values;
	});
}

const bitsOf = (values: Float32Array): Uint32Array => new Uint32Array(values.buffer.slice(0));

describe("task-combine (TIES in one pass) against scale-and-count, sign-election and task-finish (three passes)", () => {
	const n = 4099;
	for (const dtype of [undefined, "BF16"] as const) {
		for (const count of [1, 2, 3]) {
			for (const [normalize, lambda] of [
				[1, 1],
				[0, 0.7],
			] as const) {
				it(`${dtype ?? "F32"}, ${count} models, normalize ${normalize}, lambda ${lambda}`, () => {
					const weights = [0.5, -0.3, 1.25].slice(0, count).map((w) => (dtype ? roundBf16(w) : w));
					const divisor = 1;
					const b = taskVectors(1, n, 99, dtype)[0] as Float32Array;
					const deltas = taskVectors(count, n, 7 + count, dtype);
					const fused = new Float32Array(n);
					const fusedSums = new Float64Array(2 * count);
					RANGE_KERNELS["task-combine"](
						{ arrays: [fused, b, ...deltas], numbers: [normalize, lambda, ...weights], dtype },
						0,
						n,
						fusedSums,
					);
					const weighted = deltas.map((delta) => delta.slice());
					const passSums = new Float64Array(2 * count);
					weighted.forEach((delta, i) => {
						const nonzero = new Float64Array(1);
						RANGE_KERNELS["scale-and-count"](
							{ arrays: [delta], numbers: [weights[i] as number], dtype },
							0,
							n,
							nonzero,
						);
						passSums[i] = nonzero[0] as number;
					});
					const out = new Float32Array(n);
					const divisors = new Float32Array(n);
					const ones = weights.map(() => 1);
					const agreed = new Float64Array(count);
					RANGE_KERNELS["sign-election"](
						{ arrays: [out, divisors, ...weighted], numbers: [...ones, ...ones, ...weights] },
						0,
						n,
						agreed,
					);
					passSums.set(agreed, count);
					RANGE_KERNELS["task-finish"](
						{ arrays: [out, b, divisors, ...weighted], numbers: [1, normalize, divisor, lambda], dtype },
						0,
						n,
						new Float64Array(0),
					);
					expect(bitsOf(fused)).toEqual(bitsOf(out));
					expect([...fusedSums]).toEqual([...passSums]);
				});
			}
		}
	}
});

describe("roundBf16", () => {
	it("splits normal values exactly as the bit-pattern rounding rounds them (ties, boundaries and a random sample)", () => {
		const value = new Float32Array(1);
		const bits = new Uint32Array(value.buffer);
		const patterns: number[] = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00001, 0x7f7fffff, 0x7f7f8000, 0x00800000];
		for (let high = 0; high < 65536; high += 1) {
			for (const low of [0x0000, 0x7fff, 0x8000, 0x8001, 0xffff]) {
				patterns.push(((high << 16) | low) >>> 0);
			}
		}
		let state = 12345;
		for (let i = 0; i < 200_000; i++) {
			state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
			patterns.push(state);
		}
		let mismatches = 0;
		for (const pattern of patterns) {
			bits[0] = pattern;
			const v = value[0] as number;
			const got = roundBf16(v);
			const want = roundBf16Bits(v);
			if (!(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)))) {
				mismatches++;
			}
		}
		expect(mismatches).toBe(0);
		// The splitting constant and the normal range are what the inline copies in the kernels use.
		expect(BF16_SPLIT).toBe(2 ** 45 + 1);
		expect(MIN_NORMAL).toBe(2 ** -126);
	});
});

describe("linear-mix in a bf16 merge", () => {
	/** mergekit's roundings, value by value: each product, the float32 running sum from 0, the quotient. */
	function reference(inputs: Float32Array[], weights: number[], divisor: number): Float32Array {
		const n = (inputs[0] as Float32Array).length;
		return Float32Array.from({ length: n }, (_, j) => {
			let acc = 0;
			inputs.forEach((x, i) => {
				acc = Math.fround(acc + roundBf16Bits(Math.fround((weights[i] as number) * (x[j] as number))));
			});
			return roundBf16Bits(Math.fround(roundBf16Bits(acc) / divisor));
		});
	}

	for (const count of [1, 2, 3, 4]) {
		it(`${count} input(s): rounds as mergekit does, and a sum of zeros is +0`, () => {
			const inputs = taskVectors(count, 2000, 21 + count, "BF16");
			// Every input −0 at the end: +0 must come out, whatever the number of inputs.
			for (const x of inputs) {
				x.fill(-0, 1990);
			}
			const weights = [0.5, 0.25, 0.75, 1.5].slice(0, count).map(roundBf16);
			const out = new Float32Array(2000);
			RANGE_KERNELS["linear-mix"](
				{ arrays: [out, ...inputs], numbers: [1.5, ...weights], dtype: "BF16" },
				0,
				2000,
				new Float64Array(0),
			);
			expect(bitsOf(out)).toEqual(bitsOf(reference(inputs, weights, 1.5)));
			expect(Object.is(out[1995], 0)).toBe(true);
		});
	}
});

describe("weightSumsRound", () => {
	it("skips rounding the agreeing weights' sum only where every sum it can take is a bfloat16 value", () => {
		expect(weightSumsRound([0.5, 0.5])).toBe(false);
		expect(weightSumsRound([0.5, -0.30078125, 1.25])).toBe(true);
		// 1 + 2⁻⁸ is not a bfloat16 value, though each weight is.
		expect(weightSumsRound([1, 2 ** -8])).toBe(true);
		expect(weightSumsRound([1, 2 ** -7])).toBe(false);
	});
});
