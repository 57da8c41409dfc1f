import { type FloatDtype, f16ToF32, f32ToF16 } from "../../safetensors/dtype.js";

/**
 * Rounds `values[start, end)` in place to `dtype` and back, exactly as `dtypeRounder(dtype)` rounds each value
 * (the values are already float32, as storing them rounded them): bfloat16 with integer arithmetic on the bit
 * patterns, one pass with no calls; float16 through the half conversion. Float32 or undefined leaves them alone.
 */
export function roundArray(values: Float32Array, dtype: FloatDtype | undefined, start = 0, end = values.length): void {
	if (dtype === "BF16") {
		const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
		for (let i = start; i < end; i++) {
			const b = bits[i] as number;
			// NaN becomes the canonical quiet NaN, as f32ToBf16 makes it; everything else rounds to nearest even.
			bits[i] = (b & 0x7fffffff) > 0x7f800000 ? 0x7fc00000 : (b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000;
		}
	} else if (dtype === "F16") {
		for (let i = start; i < end; i++) {
			values[i] = f16ToF32(f32ToF16(values[i] as number));
		}
	}
}
