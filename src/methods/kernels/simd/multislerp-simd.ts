import type { WasmFunction } from "../../../engine/wasm/assemble-wasm.js";
import type { RangeArray } from "../range-kernels.js";
import { SUM_BLOCK } from "../sum-block.js";
import {
	elementwiseLoop,
	highToLow,
	JOIN_LOW,
	laneLoop,
	loadLanes,
	pairedLoopLocals,
	ROUND_LOCALS,
	ROUND_SETUP,
	resultVariant,
} from "./lane-text.js";
import { laneTotal, readAt, SIMD_BLOCK, simdModule, slot, writeAt, writeBack } from "./simd-kernels.js";

/**
 * Multi-SLERP's two passes over the (task) vectors as SIMD kernels, in float64 like the JavaScript kernel
 * (multislerpKernel in multislerp-kernels.ts): each pass makes xᵢ (less the base's value where there is a base) again
 * from the inputs, so no float64 array of the tensor's size is ever stored.
 */

export type MultislerpPass = "gram" | "finish";

/** The largest number of models the SIMD kernels take; more run in JavaScript. */
export const MULTISLERP_SIMD_MAX = 3;

/**
 * The float64 sums a pass adds, each as four lane sums (element index mod 4): the gram pass's ⟨xᵢ, xₖ⟩ for each pair
 * i ≤ k (in the order of gramPairs), the finish none.
 */
export function multislerpSums(pass: MultislerpPass, count: number): number {
	return pass === "gram" ? gramPairs(count).length : 0;
}

/** The pairs [i, k], i ≤ k, whose inner products the gram pass adds: row by row of the Gram matrix's upper half. */
export function gramPairs(count: number): [number, number][] {
	return Array.from({ length: count }, (_, i) =>
		Array.from({ length: count - i }, (_, d): [number, number] => [i, i + d]),
	).flat();
}

const INPUT_SLOTS = [0, 1, 2];
const BASE_SLOT = 3;
const OUT_SLOT = 4;
const SUMS_SLOT = 5;

/**
 * `multislerp_<pass>_<count>_<bf16|f32>[_base](x₀…, base, out, n, sums, factor, s₀…)`.
 * Lane sums at `sums` carry over from call to call; `out` is written by the finish pass only, as float32 values or
 * (its `_to_bf16` variant, `bf16Out`) as bfloat16 bits.
 */
export function multislerpWasm(
	pass: MultislerpPass,
	count: number,
	bf16: boolean,
	withBase: boolean,
	bf16Out = false,
): WasmFunction {
	const inputs = Array.from({ length: count }, (_, i) => i);
	const sums = Array.from({ length: multislerpSums(pass, count) }, (_, q) => q);
	const accumulators = sums.flatMap((q) => [`acc${q}Lo`, `acc${q}Hi`]);
	// The pass's work on one half (lanes 0–1 as Lo, lanes 2–3 as Hi) of four elements, once xᵢ are in locals.
	const half = (h: "Lo" | "Hi"): string => {
		if (pass === "gram") {
			return gramPairs(count)
				.map(
					([i, k], q) =>
						`local.get $acc${q}${h} local.get $x${i}${h} local.get $x${k}${h} f64x2.mul f64x2.add local.set $acc${q}${h}`,
				)
				.join("\n");
		}
		// m = Σ sᵢ·xᵢ from +0, as the JavaScript kernel sums it.
		const products = inputs.map((i) => `local.get $s${i} local.get $x${i}${h} f64x2.mul f64x2.add`);
		return `local.get $zero ${products.join(" ")} local.set $m
					local.get $factor2 local.get $m f64x2.mul
					${withBase ? `${h === "Lo" ? "local.get $b" : highToLow("b")} f64x2.promote_low_f32x4 f64x2.add` : ""}
					f32x4.demote_f64x2_zero local.set $result${h}`;
	};
	const load = (i: number, input: (name: string) => string): string => `
			${input(`x${i}`)} ${withBase ? "local.get $b f32x4.sub" : ""} local.tee $v
			f64x2.promote_low_f32x4 local.set $x${i}Lo
			${highToLow("v")} f64x2.promote_low_f32x4 local.set $x${i}Hi`;
	// One step's work on four lanes, each input pushed by `input`; the finish leaves its result on the stack.
	const lanes = (input: (name: string) => string): string => `
			${withBase ? `${input("base")} local.set $b` : ""}
			${inputs.map((i) => load(i, input)).join("\n")}
			${half("Lo")}
			${half("Hi")}
			${pass === "finish" ? `local.get $resultLo local.get $resultHi ${JOIN_LOW}` : ""}`;
	const arrays = [...(withBase ? ["base"] : []), ...inputs.map((i) => `x${i}`)];
	return {
		name: resultVariant(`multislerp_${pass}_${count}_${bf16 ? "bf16" : "f32"}${withBase ? "_base" : ""}`, bf16Out),
		params: [
			...inputs.map((i) => [`x${i}`, "i32"] as const),
			["base", "i32"],
			["out", "i32"],
			["n", "i32"],
			["sums", "i32"],
			["factor", "f64"],
			...inputs.map((i) => [`scale${i}`, "f64"] as const),
		],
		locals: [
			["j", "i32"],
			["v", "v128"],
			["b", "v128"],
			["m", "v128"],
			["zero", "v128"],
			["resultLo", "v128"],
			["resultHi", "v128"],
			["factor2", "v128"],
			...inputs.flatMap((i) => [
				[`s${i}`, "v128"] as const,
				[`x${i}Lo`, "v128"] as const,
				[`x${i}Hi`, "v128"] as const,
			]),
			...accumulators.map((name) => [name, "v128"] as const),
			...(bf16Out ? ROUND_LOCALS : []),
			// Only the finish stores a result (see elementwiseLoop); the gram pass keeps lanes by element index mod 4.
			...(pass === "finish" ? pairedLoopLocals(arrays) : []),
		],
		body: `
		${bf16Out ? ROUND_SETUP : ""}
		${
			pass === "finish"
				? `local.get $factor f64x2.splat local.set $factor2
		${inputs.map((i) => `local.get $scale${i} f64x2.splat local.set $s${i}`).join("\n")}`
				: ""
		}
		${accumulators.map((name, k) => `local.get $sums v128.load offset=${16 * k} local.set $${name}`).join("\n")}
		${
			pass === "finish"
				? elementwiseLoop(arrays, "out", bf16, bf16Out, lanes)
				: laneLoop(lanes((input) => loadLanes(input, "j", bf16)))
		}
		${accumulators.map((name, k) => `local.get $sums local.get $${name} v128.store offset=${16 * k}`).join("\n")}
		`,
	};
}

export function multislerpFunctions(): WasmFunction[] {
	const passes: MultislerpPass[] = ["gram", "finish"];
	return passes.flatMap((pass) =>
		[2, 3].flatMap((count) =>
			[true, false].flatMap((bf16) =>
				[false, true].flatMap((withBase) => [
					multislerpWasm(pass, count, bf16, withBase),
					...(pass === "finish" ? [multislerpWasm(pass, count, bf16, withBase, true)] : []),
				]),
			),
		),
	);
}

/**
 * One multislerp pass over [start, end) (start on a SUM_BLOCK boundary): for a summing pass, `target` receives per
 * SUM_BLOCK its sums (each the float64 sum of its four lane sums, in lane order); for the finish pass, the result
 * (float32 values, or bfloat16 bits).
 * Inputs and base all float32 values or all bfloat16 bits, two or three inputs.
 */
export function multislerpSimd(
	pass: MultislerpPass,
	target: Float32Array | Float64Array | Uint16Array,
	inputs: readonly RangeArray[],
	base: RangeArray | undefined,
	numbers: readonly [factor: number, ...scales: number[]],
	start: number,
	end: number,
): void {
	const module = simdModule();
	const name = resultVariant(
		`multislerp_${pass}_${inputs.length}_${inputs[0] instanceof Uint16Array ? "bf16" : "f32"}${base ? "_base" : ""}`,
		target instanceof Uint16Array,
	);
	const kernel = module.exports[name] as ((...args: number[]) => void) | undefined;
	if (kernel === undefined) {
		throw new Error(`no SIMD multislerp kernel ${name}`);
	}
	const quantities = multislerpSums(pass, inputs.length);
	const lanes = new Float64Array(module.f64.buffer, slot(SUMS_SLOT), 4 * quantities);
	for (let from = start; from < end; from += SUM_BLOCK) {
		const to = Math.min(end, from + SUM_BLOCK);
		lanes.fill(0);
		for (let at = from; at < to; at += SIMD_BLOCK) {
			const n = Math.min(SIMD_BLOCK, to - at);
			const pointers = inputs.map((input, i) => readAt(module, input, at, n, INPUT_SLOTS[i] as number));
			const basePointer = base ? readAt(module, base, at, n, BASE_SLOT) : 0;
			const out = pass === "finish" ? writeAt(target, at, n, OUT_SLOT) : 0;
			kernel(...pointers, basePointer, out, n, slot(SUMS_SLOT), ...numbers);
			if (pass === "finish") {
				writeBack(module, out, OUT_SLOT, target as Float32Array | Uint16Array, at, n);
			}
		}
		const block = Math.floor(from / SUM_BLOCK);
		for (let q = 0; q < quantities; q++) {
			target[block * quantities + q] = laneTotal(lanes, q);
		}
	}
}
