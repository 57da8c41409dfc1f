import type { WasmFunction } from "../engine/wasm/assemble-wasm.js";
import { highToLow, laneLoop, loadLanes } from "../methods/kernels/simd/lane-text.js";
import { laneTotal, readAt, SIMD_BLOCK, simdModule, slot, valuesAt } from "../methods/kernels/simd/simd-kernels.js";
import { measureSumLayout } from "./measure-sum-layout.js";

/**
 * The merge report's measurement (see measureRange) as SIMD kernels for one to three models, in float64 with four
 * lane sums per quantity (element index mod 4). The report rounds to six digits, so the order of addition, which
 * differs from the JavaScript loops', does not show; the counts are exact either way.
 */

/** The most models the SIMD kernels measure; more are measured in JavaScript. */
export const MEASURE_SIMD_MAX = 3;

const B_SLOT = 0;
const Y_SLOT = 1;
const X_SLOTS = [2, 3, 4];
const SUMS_SLOT = 5;
/** Where a result stored as bfloat16 bits is copied before its decoding, where it cannot be read in place. */
const SPARE_SLOT = 6;

/**
 * Adds the measurement's quantities over n elements, laid out as measureSumLayout(count) says, each as four lane
 * sums at `sums` that carry over from call to call: `measure_range_<count>_<b: bf16|f32>_<x: bf16|f32>(b, y, x₀…,
 * n, sums)`; y (the result) is float32.
 */
export function measureRangeWasm(count: number, baseBf16: boolean, modelsBf16: boolean): WasmFunction {
	const models = Array.from({ length: count }, (_, i) => i);
	const layout = measureSumLayout(count);
	const accumulators = Array.from({ length: layout.length }, (_, q) => [`acc${q}Lo`, `acc${q}Hi`]).flat();
	const pairs = models.flatMap((i) => models.filter((k) => k > i).map((k) => [i, k] as const));
	const add = (q: number, h: string, value: string): string =>
		`local.get $acc${q}${h} ${value} f64x2.add local.set $acc${q}${h}`;
	/** Counts as float64: 1 in the lanes where the mask on the stack is set. */
	const ones = "local.get $one v128.and";
	const half = (h: "Lo" | "Hi"): string => {
		const promoted = (v: string): string => `${h === "Lo" ? `local.get $${v}` : highToLow(v)} f64x2.promote_low_f32x4`;
		return `
			${promoted("bv")} local.set $b
			${promoted("yv")} local.get $b f64x2.sub local.set $d
			${models.map((i) => `${promoted(`x${i}v`)} local.get $b f64x2.sub local.set $t${i}`).join("\n")}
			${models.map((i) => `local.get $t${i} local.get $zero f64x2.gt`).join(" ")} ${"v128.or ".repeat(count - 1)}
			${models.map((i) => `local.get $t${i} local.get $zero f64x2.lt`).join(" ")} ${"v128.or ".repeat(count - 1)}
			v128.and local.set $conflict
			${add(0, h, "local.get $b local.get $b f64x2.mul")}
			${add(1, h, "local.get $d local.get $d f64x2.mul")}
			${add(2, h, `local.get $conflict ${ones}`)}
			${add(3, h, `local.get $conflict local.get $d local.get $zero f64x2.eq v128.and ${ones}`)}
			${models
				.map(
					(i) => `
			${add(layout.normSq + i, h, `local.get $t${i} local.get $t${i} f64x2.mul`)}
			local.get $t${i} local.get $d f64x2.mul local.set $td
			${add(layout.dotDelta + i, h, "local.get $td")}
			${add(layout.wins + i, h, `local.get $conflict local.get $td local.get $zero f64x2.gt v128.and ${ones}`)}
			${add(layout.contested + i, h, `local.get $conflict local.get $t${i} local.get $zero f64x2.ne v128.and ${ones}`)}`,
				)
				.join("\n")}
			${pairs.map(([i, k], p) => add(layout.gram + p, h, `local.get $t${i} local.get $t${k} f64x2.mul`)).join("\n")}`;
	};
	return {
		name: `measure_range_${count}_${baseBf16 ? "bf16" : "f32"}_${modelsBf16 ? "bf16" : "f32"}`,
		params: [
			["bp", "i32"],
			["yp", "i32"],
			...models.map((i) => [`x${i}`, "i32"] as const),
			["n", "i32"],
			["sums", "i32"],
		],
		locals: [
			["j", "i32"],
			["bv", "v128"],
			["yv", "v128"],
			["b", "v128"],
			["d", "v128"],
			["td", "v128"],
			["conflict", "v128"],
			["zero", "v128"],
			["one", "v128"],
			...models.flatMap((i) => [[`x${i}v`, "v128"] as const, [`t${i}`, "v128"] as const]),
			...accumulators.map((name) => [name, "v128"] as const),
		],
		body: `
		f64.const 1 f64x2.splat local.set $one
		${accumulators.map((name, k) => `local.get $sums v128.load offset=${16 * k} local.set $${name}`).join("\n")}
		${laneLoop(`
			${loadLanes("bp", "j", baseBf16)} local.set $bv
			${loadLanes("yp", "j", false)} local.set $yv
			${models.map((i) => `${loadLanes(`x${i}`, "j", modelsBf16)} local.set $x${i}v`).join("\n")}
			${half("Lo")}
			${half("Hi")}`)}
		${accumulators.map((name, k) => `local.get $sums local.get $${name} v128.store offset=${16 * k}`).join("\n")}
		`,
	};
}

export function measureFunctions(): WasmFunction[] {
	return [1, 2, 3].flatMap((count) =>
		[true, false].flatMap((baseBf16) =>
			[true, false].map((modelsBf16) => measureRangeWasm(count, baseBf16, modelsBf16)),
		),
	);
}

/**
 * Adds the measurement of elements [start, end) into `sums` (laid out by measureSumLayout): b float32 values or
 * bfloat16 bits, the models all one or the other, one to three of them; y float32 values or bfloat16 bits.
 */
export function measureRangeSimd(
	b: Float32Array | Uint16Array,
	y: Float32Array | Uint16Array,
	xs: readonly (Float32Array | Uint16Array)[],
	start: number,
	end: number,
	sums: Float64Array,
): void {
	const module = simdModule();
	const name = `measure_range_${xs.length}_${b instanceof Uint16Array ? "bf16" : "f32"}_${xs[0] instanceof Uint16Array ? "bf16" : "f32"}`;
	const kernel = module.exports[name] as ((...args: number[]) => void) | undefined;
	if (kernel === undefined) {
		throw new Error(`no SIMD measurement kernel ${name}`);
	}
	const length = measureSumLayout(xs.length).length;
	const lanes = new Float64Array(module.f64.buffer, slot(SUMS_SLOT), 4 * length);
	lanes.fill(0);
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		kernel(
			readAt(module, b, from, n, B_SLOT),
			valuesAt(module, y, from, n, Y_SLOT, SPARE_SLOT),
			...xs.map((x, i) => readAt(module, x, from, n, X_SLOTS[i] as number)),
			n,
			slot(SUMS_SLOT),
		);
	}
	for (let q = 0; q < length; q++) {
		sums[q] = (sums[q] as number) + laneTotal(lanes, q);
	}
}
