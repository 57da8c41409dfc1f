import { asFloat32 } from "./as-float32.js";
import type { RangeArray, RangeKernel } from "./range-kernels.js";
import {
	gramPairs,
	MULTISLERP_SIMD_MAX,
	type MultislerpPass,
	multislerpSimd,
	multislerpSums,
} from "./simd/multislerp-simd.js";
import { laneTotal, simdEnabled } from "./simd/simd-kernels.js";
import { SUM_BLOCK } from "./sum-block.js";

/** Whether the SIMD kernels take these inputs and base: two or three inputs, all float32 or all bfloat16 bits. */
export function multislerpInSimd(inputs: readonly RangeArray[], base: RangeArray | undefined): boolean {
	const stored = inputs[0] instanceof Uint16Array;
	return (
		simdEnabled() &&
		inputs.length >= 2 &&
		inputs.length <= MULTISLERP_SIMD_MAX &&
		[...inputs, ...(base ? [base] : [])].every((array) => array instanceof Uint16Array === stored)
	);
}

/**
 * One of Multi-SLERP's passes over the vectors xᵢ (each model's values, less the base's and rounded to float32 where
 * there is a base). Each pass makes xᵢ again from the inputs, so nothing of the tensor's size is stored but the result:
 * - gram: ⟨xᵢ, xₖ⟩ for each pair i ≤ k (see gramPairs) in float64, whose diagonal holds the norms ‖xᵢ‖²;
 * - finish: out = a·m (+ the base), m = Σ sᵢ·xᵢ from +0 in model order, each operation in float32 with a and sᵢ
 *   rounded to float32, as a float32 merge computes it: float64 would cost this pass twice the time (each lane's
 *   conversions) for differences far below the result's bfloat16 unit.
 *
 * Arrays [target, ...inputs, base?]: the sums (Float64Array, per SUM_BLOCK, then per pair) or the result; inputs and
 * base float32 values or bfloat16 bits. Numbers [withBase (0 or 1), a, ...sᵢ] (the gram pass takes only their count).
 * Each sum is added per SUM_BLOCK as four lane sums (element index mod 4), added in lane order at the end, as the
 * SIMD kernels add them.
 */
export function multislerpKernel(pass: MultislerpPass): RangeKernel {
	return (args, start, end) => {
		const [withBase, factor = 0, ...scales] = args.numbers;
		const count = scales.length;
		// The result as bfloat16 bits only where the SIMD kernels take the inputs.
		const target = args.arrays[0] as Float32Array | Float64Array | Uint16Array;
		const inputs = args.arrays.slice(1, 1 + count);
		const base = withBase ? args.arrays[1 + count] : undefined;
		if (multislerpInSimd(inputs, base)) {
			multislerpSimd(pass, target, inputs, base, [factor, ...scales], start, end);
			return;
		}
		const quantities = multislerpSums(pass, count);
		const pairs = gramPairs(count);
		const first = pairs.map(([i]) => i);
		const second = pairs.map(([, k]) => k);
		const roundedFactor = Math.fround(factor);
		const roundedScales = scales.map(Math.fround);
		const lanes = new Float64Array(4 * quantities);
		const x = new Float64Array(count);
		const add = (q: number, lane: number, value: number): void => {
			lanes[4 * q + lane] = (lanes[4 * q + lane] as number) + value;
		};
		for (let from = start; from < end; from += SUM_BLOCK) {
			const to = Math.min(end, from + SUM_BLOCK);
			lanes.fill(0);
			for (let j = from; j < to; j++) {
				const lane = (j - from) & 3;
				for (let i = 0; i < count; i++) {
					const value = asFloat32(inputs[i] as Float32Array, j);
					x[i] = base ? Math.fround(value - asFloat32(base, j)) : value;
				}
				if (pass === "gram") {
					for (let q = 0; q < quantities; q++) {
						add(q, lane, (x[first[q] as number] as number) * (x[second[q] as number] as number));
					}
					continue;
				}
				let m = 0;
				for (let i = 0; i < count; i++) {
					m = Math.fround(m + Math.fround((roundedScales[i] as number) * (x[i] as number)));
				}
				const mixed = Math.fround(roundedFactor * m);
				target[j] = base ? Math.fround(mixed + asFloat32(base, j)) : mixed;
			}
			const block = Math.floor(from / SUM_BLOCK);
			for (let q = 0; q < quantities; q++) {
				target[block * quantities + q] = laneTotal(lanes, q);
			}
		}
	};
}
