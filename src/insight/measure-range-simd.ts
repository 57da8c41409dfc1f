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
	// The counts (conflicts, those left at the base, each model's wins and contested elements) are exact whole numbers:
	// they are counted four lanes at a time in i32 lanes, from the signs of float32 differences (zero, positive or
	// negative, NaN, exactly as the float64 differences'), and added to their float64 lane sums once per call.
	const counts = [2, 3, ...models.flatMap((i) => [layout.wins + i, layout.contested + i])];
	const sumsOnly = Array.from({ length: layout.length }, (_, q) => q).filter((q) => !counts.includes(q));
	// Each quantity's four lane sums: lanes 0 and 1 (Lo), then 2 and 3 (Hi), at 32 bytes a quantity.
	const accumulators = sumsOnly.flatMap((q) => [
		{ name: `acc${q}Lo`, offset: 32 * q },
		{ name: `acc${q}Hi`, offset: 32 * q + 16 },
	]);
	const pairs = models.flatMap((i) => models.filter((k) => k > i).map((k) => [i, k] as const));
	const add = (q: number, h: string, value: string): string =>
		`local.get $acc${q}${h} ${value} f64x2.add local.set $acc${q}${h}`;
	const tally = (q: number, mask: string): string => `local.get $count${q} ${mask} i32x4.sub local.set $count${q}`;
	const half = (h: "Lo" | "Hi"): string => {
		const promoted = (v: string): string => `${h === "Lo" ? `local.get $${v}` : highToLow(v)} f64x2.promote_low_f32x4`;
		return `
			${promoted("bv")} local.set $b
			${promoted("yv")} local.get $b f64x2.sub local.set $d
			${models.map((i) => `${promoted(`x${i}v`)} local.get $b f64x2.sub local.set $t${i}`).join("\n")}
			${add(0, h, "local.get $b local.get $b f64x2.mul")}
			${add(1, h, "local.get $d local.get $d f64x2.mul")}
			${models
				.map(
					(i) => `
			${add(layout.normSq + i, h, `local.get $t${i} local.get $t${i} f64x2.mul`)}
			${add(layout.dotDelta + i, h, `local.get $t${i} local.get $d f64x2.mul`)}`,
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
			["df", "v128"],
			["conflict", "v128"],
			["zero", "v128"],
			...models.flatMap((i) => [[`x${i}v`, "v128"] as const, [`t${i}`, "v128"] as const, [`tf${i}`, "v128"] as const]),
			...accumulators.map(({ name }) => [name, "v128"] as const),
			...counts.map((q) => [`count${q}`, "v128"] as const),
		],
		body: `
		${accumulators.map(({ name, offset }) => `local.get $sums v128.load offset=${offset} local.set $${name}`).join("\n")}
		${laneLoop(`
			${loadLanes("bp", "j", baseBf16)} local.set $bv
			${loadLanes("yp", "j", false)} local.set $yv
			${models.map((i) => `${loadLanes(`x${i}`, "j", modelsBf16)} local.set $x${i}v`).join("\n")}
			local.get $yv local.get $bv f32x4.sub local.set $df
			${models.map((i) => `local.get $x${i}v local.get $bv f32x4.sub local.set $tf${i}`).join("\n")}
			${models.map((i) => `local.get $tf${i} local.get $zero f32x4.gt`).join(" ")} ${"v128.or ".repeat(count - 1)}
			${models.map((i) => `local.get $tf${i} local.get $zero f32x4.lt`).join(" ")} ${"v128.or ".repeat(count - 1)}
			v128.and local.set $conflict
			${tally(2, "local.get $conflict")}
			${tally(3, `local.get $conflict local.get $df local.get $zero f32x4.eq v128.and`)}
			${models
				.map(
					(i) => `
			${tally(
				layout.wins + i,
				`local.get $tf${i} local.get $zero f32x4.gt local.get $df local.get $zero f32x4.gt v128.and
				local.get $tf${i} local.get $zero f32x4.lt local.get $df local.get $zero f32x4.lt v128.and v128.or
				local.get $conflict v128.and`,
			)}
			${tally(layout.contested + i, `local.get $tf${i} local.get $zero f32x4.ne local.get $conflict v128.and`)}`,
				)
				.join("\n")}
			${half("Lo")}
			${half("Hi")}`)}
		${accumulators.map(({ name, offset }) => `local.get $sums local.get $${name} v128.store offset=${offset}`).join("\n")}
		${counts
			.map(
				(q) => `
		local.get $sums local.get $sums v128.load offset=${32 * q}
		local.get $count${q} f64x2.convert_low_i32x4_u f64x2.add v128.store offset=${32 * q}
		local.get $sums local.get $sums v128.load offset=${32 * q + 16}
		${highToLow(`count${q}`)} f64x2.convert_low_i32x4_u f64x2.add v128.store offset=${32 * q + 16}`,
			)
			.join("\n")}
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
