import type { WasmFunction } from "../../../engine/wasm/assemble-wasm.js";
import type { RangeArray } from "../range-kernels.js";
import { SUM_BLOCK } from "../sum-block.js";
import {
	elementwiseLoop,
	highToLow,
	laneLoop,
	loadLanes,
	pairedLoopLocals,
	ROUND_LOCALS,
	ROUND_SETUP,
	resultVariant,
} from "./lane-text.js";
import { laneTotal, readAt, SIMD_BLOCK, simdModule, slot, writeAt, writeBack } from "./simd-kernels.js";

/**
 * Multi-SLERP's two passes over the (task) vectors as SIMD kernels, rounded as the JavaScript kernel
 * (multislerpKernel in multislerp-kernels.ts) rounds them: each pass makes xᵢ (less the base's value where there is a
 * base) again from the inputs, so no float64 array of the tensor's size is ever stored.
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
	const name = resultVariant(`multislerp_${pass}_${count}_${bf16 ? "bf16" : "f32"}${withBase ? "_base" : ""}`, bf16Out);
	const params = [
		...inputs.map((i) => [`x${i}`, "i32"] as const),
		["base", "i32"] as const,
		["out", "i32"] as const,
		["n", "i32"] as const,
		["sums", "i32"] as const,
		["factor", "f64"] as const,
		...inputs.map((i) => [`scale${i}`, "f64"] as const),
	];
	return pass === "gram"
		? gramWasm(name, params, inputs, bf16, withBase)
		: finishWasm(name, params, inputs, bf16, withBase, bf16Out);
}

type Params = WasmFunction["params"];

/** The gram pass: ⟨xᵢ, xₖ⟩ for each pair i ≤ k in float64, four lane sums each (lanes 0–1 as Lo, 2–3 as Hi). */
function gramWasm(name: string, params: Params, inputs: number[], bf16: boolean, withBase: boolean): WasmFunction {
	const accumulators = gramPairs(inputs.length).flatMap((_, q) => [`acc${q}Lo`, `acc${q}Hi`]);
	const half = (h: "Lo" | "Hi"): string =>
		gramPairs(inputs.length)
			.map(
				([i, k], q) =>
					`local.get $acc${q}${h} local.get $x${i}${h} local.get $x${k}${h} f64x2.mul f64x2.add local.set $acc${q}${h}`,
			)
			.join("\n");
	const load = (i: number): string => `
			${loadLanes(`x${i}`, "j", bf16)} ${withBase ? "local.get $b f32x4.sub" : ""} local.tee $v
			f64x2.promote_low_f32x4 local.set $x${i}Lo
			${highToLow("v")} f64x2.promote_low_f32x4 local.set $x${i}Hi`;
	return {
		name,
		params,
		locals: [
			["j", "i32"],
			["v", "v128"],
			["b", "v128"],
			...inputs.flatMap((i) => [[`x${i}Lo`, "v128"] as const, [`x${i}Hi`, "v128"] as const]),
			...accumulators.map((local) => [local, "v128"] as const),
		],
		body: `
		${accumulators.map((local, k) => `local.get $sums v128.load offset=${16 * k} local.set $${local}`).join("\n")}
		${laneLoop(`
			${withBase ? `${loadLanes("base", "j", bf16)} local.set $b` : ""}
			${inputs.map(load).join("\n")}
			${half("Lo")}
			${half("Hi")}`)}
		${accumulators.map((local, k) => `local.get $sums local.get $${local} v128.store offset=${16 * k}`).join("\n")}
		`,
	};
}

/**
 * The finish: out = a·m (+ the base), m = Σ sᵢ·xᵢ from +0 in model order, every operation in float32 with a and sᵢ
 * rounded to float32, as a float32 merge computes it (mergekit's own finish is float32 tensor arithmetic).
 */
function finishWasm(
	name: string,
	params: Params,
	inputs: number[],
	bf16: boolean,
	withBase: boolean,
	bf16Out: boolean,
): WasmFunction {
	const lanes = (input: (array: string) => string): string => `
			${withBase ? `${input("base")} local.set $b` : ""}
			v128.const i32x4 0 0 0 0
			${inputs
				.map(
					(i) => `${input(`x${i}`)} ${withBase ? "local.get $b f32x4.sub" : ""} local.get $s${i} f32x4.mul f32x4.add`,
				)
				.join("\n")}
			local.get $factor4 f32x4.mul
			${withBase ? "local.get $b f32x4.add" : ""}`;
	const arrays = [...(withBase ? ["base"] : []), ...inputs.map((i) => `x${i}`)];
	return {
		name,
		params,
		locals: [
			["j", "i32"],
			["b", "v128"],
			["factor4", "v128"],
			...inputs.map((i) => [`s${i}`, "v128"] as const),
			...(bf16Out ? ROUND_LOCALS : []),
			...pairedLoopLocals(arrays),
		],
		body: `
		${bf16Out ? ROUND_SETUP : ""}
		local.get $factor f32.demote_f64 f32x4.splat local.set $factor4
		${inputs.map((i) => `local.get $scale${i} f32.demote_f64 f32x4.splat local.set $s${i}`).join("\n")}
		${elementwiseLoop(arrays, "out", bf16, bf16Out, lanes)}
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
