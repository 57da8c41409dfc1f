import type { WasmFunction } from "../../../engine/wasm/assemble-wasm.js";
import type { RangeArray } from "../range-kernels.js";
import {
	divideLanesBy,
	elementwiseLoop,
	highToLow,
	laneLoop,
	loadLanes,
	pairedLoopLocals,
	ROUND_LOCALS,
	ROUND_SETUP,
	resultVariant,
} from "./lane-text.js";
import {
	laneTotal,
	type ResultArray,
	readAt,
	SIMD_BLOCK,
	simdModule,
	slot,
	writeAt,
	writeBack,
} from "./simd-kernels.js";

/**
 * Model Stock over the whole tensor as SIMD kernels, in float64 like the JavaScript kernels (modelStockSums and
 * modelStockMix in model-stock-kernels.ts): the offsets' sums of squares and pairwise dot products, then the mix.
 */

/** The largest number of models (besides the base) the SIMD kernels take; more run in JavaScript. */
export const MODEL_STOCK_SIMD_MAX = 3;

const BASE_SLOT = 0;
const OUT_SLOT = 4;
const SUMS_SLOT = 5;

/** The offset pairs (i, m), i < m, in the order their dot products are stored. */
function pairsOf(count: number): [number, number][] {
	const pairs: [number, number][] = [];
	for (let i = 0; i < count; i++) {
		for (let m = i + 1; m < count; m++) {
			pairs.push([i, m]);
		}
	}
	return pairs;
}

/**
 * Adds, per lane (element index mod 4), ‖xᵢ − b‖² for each model and then ⟨xᵢ − b, xₘ − b⟩ for i < m to the lane
 * sums at `sums`, which carry over from call to call: `model_stock_sums_<count>_<bf16|f32>(b, x₀…, n, sums)`.
 */
export function modelStockSumsWasm(count: number, bf16: boolean): WasmFunction {
	const inputs = Array.from({ length: count }, (_, i) => i);
	const products: [number, number][] = [...inputs.map((i): [number, number] => [i, i]), ...pairsOf(count)];
	const accumulators = products.flatMap((_, q) => [`acc${q}Lo`, `acc${q}Hi`]);
	const half = (h: "Lo" | "Hi"): string =>
		products
			.map(
				([i, m], q) =>
					`local.get $acc${q}${h} local.get $o${i}${h} local.get $o${m}${h} f64x2.mul f64x2.add local.set $acc${q}${h}`,
			)
			.join("\n");
	return {
		name: `model_stock_sums_${count}_${bf16 ? "bf16" : "f32"}`,
		params: [["base", "i32"], ...inputs.map((i) => [`x${i}`, "i32"] as const), ["n", "i32"], ["sums", "i32"]],
		locals: [
			["j", "i32"],
			["v", "v128"],
			["bLo", "v128"],
			["bHi", "v128"],
			...inputs.flatMap((i) => [[`o${i}Lo`, "v128"] as const, [`o${i}Hi`, "v128"] as const]),
			...accumulators.map((name) => [name, "v128"] as const),
		],
		body: `
		${accumulators.map((name, k) => `local.get $sums v128.load offset=${16 * k} local.set $${name}`).join("\n")}
		${laneLoop(`
			${loadLanes("base", "j", bf16)} local.tee $v f64x2.promote_low_f32x4 local.set $bLo
			${highToLow("v")} f64x2.promote_low_f32x4 local.set $bHi
			${inputs
				.map(
					(i) => `
			${loadLanes(`x${i}`, "j", bf16)} local.tee $v f64x2.promote_low_f32x4 local.get $bLo f64x2.sub local.set $o${i}Lo
			${highToLow("v")} f64x2.promote_low_f32x4 local.get $bHi f64x2.sub local.set $o${i}Hi`,
				)
				.join("\n")}
			${half("Lo")}
			${half("Hi")}`)}
		${accumulators.map((name, k) => `local.get $sums local.get $${name} v128.store offset=${16 * k}`).join("\n")}
		`,
	};
}

/**
 * out = t·mean(xᵢ) + (1 − t)·b in float32 (see modelStockMixAt): the sum from +0 in model order, divided by k, stored
 * as float32 (as bfloat16 bits when `bf16Out`): `model_stock_mix_<count>_<bf16|f32>[_to_bf16](b, x₀…, out, n, t,
 * oneMinusT)`, t and 1 − t float32 values.
 */
export function modelStockMixWasm(count: number, bf16: boolean, bf16Out: boolean): WasmFunction {
	const inputs = Array.from({ length: count }, (_, i) => i);
	const arrays = ["base", ...inputs.map((i) => `x${i}`)];
	return {
		name: resultVariant(`model_stock_mix_${count}_${bf16 ? "bf16" : "f32"}`, bf16Out),
		params: [
			["base", "i32"],
			...inputs.map((i) => [`x${i}`, "i32"] as const),
			["out", "i32"],
			["n", "i32"],
			["t", "f32"],
			["rest", "f32"],
		],
		locals: [
			["j", "i32"],
			["zero", "v128"],
			["t4", "v128"],
			["rest4", "v128"],
			["count4", "v128"],
			["v", "v128"],
			...ROUND_LOCALS,
			...pairedLoopLocals(arrays),
		],
		body: `
		${ROUND_SETUP}
		local.get $t f32x4.splat local.set $t4
		local.get $rest f32x4.splat local.set $rest4
		f32.const ${count} f32x4.splat local.set $count4
		${elementwiseLoop(
			arrays,
			"out",
			bf16,
			bf16Out,
			(input) => `
			local.get $zero ${inputs.map((i) => `${input(`x${i}`)} f32x4.add`).join(" ")}
			${divideLanesBy(count, "count4", "f32x4")} local.get $t4 f32x4.mul
			${input("base")} local.get $rest4 f32x4.mul
			f32x4.add`,
		)}
		`,
	};
}

export function modelStockFunctions(): WasmFunction[] {
	return [2, 3].flatMap((count) =>
		[true, false].flatMap((bf16) => [
			modelStockSumsWasm(count, bf16),
			modelStockMixWasm(count, bf16, false),
			modelStockMixWasm(count, bf16, true),
		]),
	);
}

function kernelOf(kind: "sums" | "mix", inputs: readonly RangeArray[], bf16Out = false): (...args: number[]) => void {
	const name = resultVariant(
		`model_stock_${kind}_${inputs.length - 1}_${inputs[0] instanceof Uint16Array ? "bf16" : "f32"}`,
		bf16Out,
	);
	const kernel = simdModule().exports[name];
	if (kernel === undefined) {
		throw new Error(`no SIMD model_stock kernel ${name}`);
	}
	return kernel as (...args: number[]) => void;
}

/**
 * modelStockSums over [from, to), within one SUM_BLOCK, for `inputs` [b, ...x]: the k sums of squares, then the dot
 * products, each the float64 sum of its four lane sums added in lane order.
 */
export function modelStockSumsSimd(inputs: readonly RangeArray[], from: number, to: number): number[] {
	const module = simdModule();
	const kernel = kernelOf("sums", inputs);
	const count = inputs.length - 1;
	const quantities = count + (count * (count - 1)) / 2;
	const lanes = new Float64Array(module.f64.buffer, slot(SUMS_SLOT), 4 * quantities);
	lanes.fill(0);
	for (let at = from; at < to; at += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, to - at);
		kernel(...inputs.map((input, i) => readAt(module, input, at, n, BASE_SLOT + i)), n, slot(SUMS_SLOT));
	}
	return Array.from({ length: quantities }, (_, q) => laneTotal(lanes, q));
}

/**
 * modelStockMix over [start, end) for `inputs` [b, ...x], into float32 values or bfloat16 bits; t and 1 − t as
 * float32 values.
 */
export function modelStockMixSimd(
	out: ResultArray,
	inputs: readonly RangeArray[],
	[t32, rest]: readonly [number, number],
	start: number,
	end: number,
): void {
	const module = simdModule();
	const kernel = kernelOf("mix", inputs, out instanceof Uint16Array);
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const target = writeAt(out, from, n, OUT_SLOT);
		kernel(...inputs.map((input, i) => readAt(module, input, from, n, BASE_SLOT + i)), target, n, t32, rest);
		writeBack(module, target, OUT_SLOT, out, from, n);
	}
}
