import { bf16ToF32, type FloatDtype, f16ToF32, f32ToBf16, f32ToF16 } from "../../safetensors/dtype.js";

/** Rounds a value to a narrower float dtype and back, as storing an intermediate tensor in that dtype would. */
export type Rounder = (value: number) => number;

const toBf16: Rounder = (value) => bf16ToF32(f32ToBf16(value));
const toF16: Rounder = (value) => f16ToF32(f32ToF16(value));

/**
 * The rounding of mergekit's intermediates in `dtype`, or undefined for float32 (and when no dtype is known), where
 * kernels keep their float64 intermediates and round once when they store the result.
 */
export function dtypeRounder(dtype: FloatDtype | undefined): Rounder | undefined {
	switch (dtype) {
		case "BF16":
			return toBf16;
		case "F16":
			return toF16;
		default:
			return undefined;
	}
}
