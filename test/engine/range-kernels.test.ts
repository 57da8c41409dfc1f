import { describe, expect, it } from "vitest";
import { counterUniform } from "../../src/execute/counter-random.js";
import { dtypeRounder } from "../../src/methods/kernels/dtype-rounder.js";
import {
	RANGE_KERNELS,
	type RangeArgs,
	type RangeArray,
	type RangeKernelName,
} from "../../src/methods/kernels/range-kernels.js";
import { roundArray } from "../../src/methods/kernels/round-array.js";
import { signConsensus } from "../helpers/sign-consensus.js";

/** Values with zeros, ties, both signs, tiny and huge magnitudes, infinities and a NaN. */
function awkward(n: number, seed: number): Float32Array {
	const u = counterUniform(seed, "awkward", "data");
	const out = new Float32Array(n);
	for (let i = 0; i < n; i++) {
		const pick = u(i);
		out[i] = pick < 0.2 ? 0 : pick < 0.3 ? (u(i + n) - 0.5) * 1e-40 : pick < 0.35 ? 0.25 : (u(i + 2 * n) - 0.5) * 3e-2;
	}
	out[7] = Number.POSITIVE_INFINITY;
	out[11] = Number.NEGATIVE_INFINITY;
	out[13] = Number.NaN;
	out[17] = -0;
	out[19] = 3.3895313892515355e38;
	return out;
}

function bitsOf(array: RangeArray): Buffer {
	return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

/** Bit-for-bit equality (NaN payloads and signed zeros included), fast on long arrays. */
function expectSameBits(actual: RangeArray, expected: RangeArray): void {
	expect(bitsOf(actual).equals(bitsOf(expected))).toBe(true);
}

/** Runs a kernel whole, then again in ragged parts on fresh copies: every output must match bit for bit. */
function expectSplitInvariant(kernel: RangeKernelName, make: () => RangeArgs, n: number, sumCount: number): void {
	const whole = make();
	const wholeSums = new Float64Array(sumCount);
	RANGE_KERNELS[kernel](whole, 0, n, wholeSums);
	for (const cuts of [[1, 2, 4095, 4097], [64, 1000], [n - 1]]) {
		const split = make();
		const sums = new Float64Array(sumCount);
		let start = 0;
		for (const cut of [...cuts.filter((c) => c < n), n]) {
			RANGE_KERNELS[kernel](split, start, cut, sums);
			start = cut;
		}
		split.arrays.forEach((array, i) => {
			expectSameBits(array, whole.arrays[i] as RangeArray);
		});
		expect([...sums]).toEqual([...wholeSums]);
	}
}

describe("range kernels", () => {
	const n = 9000;
	it("roundArray rounds exactly as dtypeRounder, value by value", () => {
		for (const dtype of ["BF16", "F16"] as const) {
			const values = awkward(n, 1);
			const round = dtypeRounder(dtype);
			const expected = Float32Array.from(values, (v) => (round ? round(v) : v));
			roundArray(values, dtype);
			expectSameBits(values, expected);
		}
	});

	it("give the same bits however the range is split (threads and block sizes cannot change a result)", () => {
		for (const dtype of ["BF16", "F16", undefined] as const) {
			expectSplitInvariant(
				"task-vector",
				() => ({ arrays: [awkward(n, 2), awkward(n, 3), new Float32Array(n)], numbers: [], dtype }),
				n,
				0,
			);
			expectSplitInvariant("scale-and-count", () => ({ arrays: [awkward(n, 4)], numbers: [0.3], dtype }), n, 1);
			expectSplitInvariant(
				"linear-mix",
				() => ({ arrays: [new Float32Array(n), awkward(n, 5), awkward(n, 6)], numbers: [0.9, 0.4, 0.5], dtype }),
				n,
				0,
			);
			for (const consensus of [0, 1]) {
				expectSplitInvariant(
					"task-finish",
					() => ({
						arrays: [awkward(n, 7), awkward(n, 8), awkward(n, 9), awkward(n, 10), awkward(n, 11)],
						numbers: [consensus, 1, 0.7, 0.9],
						dtype,
					}),
					n,
					0,
				);
			}
		}
		expectSplitInvariant(
			"sign-election",
			() => ({
				arrays: [new Float32Array(n), new Float32Array(n), awkward(n, 12), awkward(n, 13), awkward(n, 14)],
				numbers: [1, 1, 1, 1, 1, 1, 0.2, 0.3, 0.5],
			}),
			n,
			3,
		);
	});

	it("sign-election repeats signConsensus bit for bit, with unit and with other vote scales", () => {
		const vectors = [awkward(n, 15), awkward(n, 16), awkward(n, 17)];
		for (const vote of [
			[1, 1, 1],
			[0.5, -1, 0],
		]) {
			const numerator = new Float32Array(n);
			const divisor = new Float32Array(n);
			const agreed = new Float64Array(3);
			signConsensus(vectors, vote, [1, 2, 3], [0.2, 0.3, 0.5], numerator, divisor, agreed);
			const args = {
				arrays: [new Float32Array(n), new Float32Array(n), ...vectors],
				numbers: [...vote, 1, 2, 3, 0.2, 0.3, 0.5],
			};
			const sums = new Float64Array(3);
			RANGE_KERNELS["sign-election"](args, 0, n, sums);
			expectSameBits(args.arrays[0] as Float32Array, numerator);
			expectSameBits(args.arrays[1] as Float32Array, divisor);
			expect([...sums]).toEqual([...agreed]);
		}
	});
});
