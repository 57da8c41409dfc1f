import type { WasmFunction } from "../../../engine/wasm/assemble-wasm.js";
import type { RangeArray } from "../range-kernels.js";
import {
	elementwiseLoop,
	pairedLoopLocals,
	ROUND_LOCALS,
	ROUND_SETUP,
	resultVariant,
	roundBf16,
	roundBf16KeepingNaN,
} from "./lane-text.js";
import { type ResultArray, readAt, SIMD_BLOCK, simdModule, writeAt, writeBack } from "./simd-kernels.js";

/**
 * linear-mix in a bfloat16 merge (see linearMix): each product wᵢ·xᵢ rounded to bfloat16, their running sum from +0
 * in float32 (as PyTorch sums bfloat16 along a dimension) rounded, then the quotient by the divisor rounded. The
 * weights and the divisor are bfloat16 values, so float32 products and quotients round exactly as the float64 ones of
 * the JavaScript kernel. The products of bfloat16 inputs are rounded without the NaN check: the sum's rounding makes
 * any NaN the canonical one. The result is rounded, so the `bf16Out` variant stores its bits as they are:
 * `linear_mix_<count>_<bf16|f32>[_to_bf16](x₀…, out, n, w₀…, divisor)`.
 */
export function linearMixWasm(count: number, bf16: boolean, bf16Out: boolean): WasmFunction {
	const inputs = Array.from({ length: count }, (_, i) => i);
	const arrays = inputs.map((i) => `x${i}`);
	const addProduct = (i: number, input: (name: string) => string): string => `
		${input(`x${i}`)} local.get $w${i} f32x4.mul local.set $v
		${bf16 ? roundBf16KeepingNaN("v") : roundBf16("v")} local.set $v
		local.get $sum local.get $v f32x4.add local.set $sum`;
	return {
		name: resultVariant(`linear_mix_${count}_${bf16 ? "bf16" : "f32"}`, bf16Out),
		params: [
			...inputs.map((i) => [`x${i}`, "i32"] as const),
			["out", "i32"],
			["n", "i32"],
			...inputs.map((i) => [`weight${i}`, "f32"] as const),
			["divisor", "f32"],
		],
		locals: [
			["j", "i32"],
			["divide", "i32"],
			["v", "v128"],
			["sum", "v128"],
			["d", "v128"],
			...inputs.map((i) => [`w${i}`, "v128"] as const),
			...ROUND_LOCALS,
			...pairedLoopLocals(arrays),
		],
		body: `
		${ROUND_SETUP}
		${inputs.map((i) => `local.get $weight${i} f32x4.splat local.set $w${i}`).join("\n")}
		local.get $divisor f32x4.splat local.set $d
		;; Weights that add up to 1 (normalised ones, often) leave the rounded sum as it is: no quotient to take.
		local.get $divisor f32.const 1 f32.ne local.set $divide
		${elementwiseLoop(
			arrays,
			"out",
			bf16,
			bf16Out,
			(input) => `
			f32.const 0 f32x4.splat local.set $sum
			${inputs.map((i) => addProduct(i, input)).join("\n")}
			${roundBf16("sum")} local.set $v
			local.get $divide
			if
				local.get $v local.get $d f32x4.div local.set $v
				${roundBf16("v")} local.set $v
			end
			local.get $v`,
			true,
		)}
		`,
	};
}

/**
 * linearMixBf16 over [start, end) for one to three inputs, all float32 values or all bfloat16 bit patterns; the result
 * as float32 values or bfloat16 bits.
 */
export function linearMixSimd(
	out: ResultArray,
	inputs: readonly RangeArray[],
	weights: readonly number[],
	divisor: number,
	start: number,
	end: number,
): void {
	const module = simdModule();
	const kernel =
		module.exports[
			resultVariant(
				`linear_mix_${inputs.length}_${inputs[0] instanceof Uint16Array ? "bf16" : "f32"}`,
				out instanceof Uint16Array,
			)
		];
	if (kernel === undefined) {
		throw new Error(`no SIMD linear mix for ${inputs.length} inputs`);
	}
	const outSlot = inputs.length;
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const pointers = inputs.map((input, i) => readAt(module, input, from, n, i));
		const target = writeAt(out, from, n, outSlot);
		kernel(...pointers, target, n, ...weights, divisor);
		writeBack(module, target, outSlot, out, from, n);
	}
}
