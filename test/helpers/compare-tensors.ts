import { f32ToBf16 } from "../../src/safetensors/dtype.js";

export interface Tolerance {
	rtol: number;
	atol: number;
	bf16_ulps?: number;
	max_mismatch_fraction?: number;
}

/** bfloat16 bit patterns mapped to integers in value order, so that ulp distance is a difference. */
function orderedBf16(bits: number): number {
	return bits & 0x8000 ? -(bits & 0x7fff) : bits;
}

/**
 * Checks `|got − expected| ≤ atol + rtol·|expected|` for every element, or for bfloat16 cases the share of
 * elements more than `bf16_ulps` apart. Returns a description of the failure, or undefined when within tolerance.
 */
export function compareTensors(
	got: Float32Array,
	expected: Float32Array,
	tolerance: Tolerance,
	bf16: boolean,
): string | undefined {
	if (got.length !== expected.length) {
		return `length ${got.length} ≠ ${expected.length}`;
	}
	if (bf16 && tolerance.bf16_ulps !== undefined) {
		let mismatches = 0;
		let worst = 0;
		for (let i = 0; i < got.length; i++) {
			const distance = Math.abs(
				orderedBf16(f32ToBf16(got[i] as number)) - orderedBf16(f32ToBf16(expected[i] as number)),
			);
			worst = Math.max(worst, distance);
			if (distance > tolerance.bf16_ulps) {
				mismatches++;
			}
		}
		const allowed = tolerance.max_mismatch_fraction ?? 0;
		return mismatches / got.length <= allowed
			? undefined
			: `${mismatches} of ${got.length} elements beyond ${tolerance.bf16_ulps} bf16 ulps (worst ${worst}); allowed fraction ${allowed}`;
	}
	let failures = 0;
	let first = "";
	for (let i = 0; i < got.length; i++) {
		const g = got[i] as number;
		const e = expected[i] as number;
		if (!(Math.abs(g - e) <= tolerance.atol + tolerance.rtol * Math.abs(e))) {
			if (failures === 0) {
				first = `element ${i}: got ${g}, expected ${e}`;
			}
			failures++;
		}
	}
	return failures === 0 ? undefined : `${failures} of ${got.length} elements out of tolerance (first: ${first})`;
}
