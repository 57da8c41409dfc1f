import type { WasmFunction } from "../../../engine/wasm/assemble-wasm.js";
import type { RangeArray } from "../range-kernels.js";
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
 * SIMD kernels over two vectors a and b, rounded as their JavaScript kernels (pairSums and pairMix in range-kernels.ts)
 * round: the sums ‖a‖², ‖b‖² and ⟨a, b⟩ that slerp-style methods need, in float64, and the mix s₀a + s₁b (+ c), in
 * float32.
 */

const SUMS = ["aa", "bb", "ab"] as const;

/**
 * Pushes four lanes of input `pointer` as float32, less c's lanes (in local `cv`, rounded to float32) when `less`.
 */
function vectorLanes(pointer: string, bf16: boolean, less: boolean): string {
	return `${loadLanes(pointer, "j", bf16)} ${less ? "local.get $cv f32x4.sub" : ""}`;
}

/**
 * Adds a², b² and ab per lane (element index mod 4) in float64 to the lane sums at `sums` [aa lanes 0–3, bb lanes
 * 0–3, ab lanes 0–3], which carry over from call to call; with `less`, of a − c and b − c (rounded to float32):
 * `pair_sums_<bf16|f32>[_less](a, b, c, n, sums)`.
 */
export function pairSumsWasm(bf16: boolean, less: boolean): WasmFunction {
	const accumulators = SUMS.flatMap((sum) => [`${sum}Lo`, `${sum}Hi`]);
	return {
		name: `pair_sums_${bf16 ? "bf16" : "f32"}${less ? "_less" : ""}`,
		params: [
			["a", "i32"],
			["b", "i32"],
			["c", "i32"],
			["n", "i32"],
			["sums", "i32"],
		],
		locals: [
			["j", "i32"],
			["x", "v128"],
			["y", "v128"],
			["cv", "v128"],
			["xLo", "v128"],
			["xHi", "v128"],
			["yLo", "v128"],
			["yHi", "v128"],
			...accumulators.map((name) => [name, "v128"] as const),
		],
		body: `
		${accumulators.map((name, i) => `local.get $sums v128.load offset=${16 * i} local.set $${name}`).join("\n")}
		${laneLoop(`
			${less ? `${loadLanes("c", "j", bf16)} local.set $cv` : ""}
			${vectorLanes("a", bf16, less)} local.tee $x f64x2.promote_low_f32x4 local.set $xLo
			${highToLow("x")} f64x2.promote_low_f32x4 local.set $xHi
			${vectorLanes("b", bf16, less)} local.tee $y f64x2.promote_low_f32x4 local.set $yLo
			${highToLow("y")} f64x2.promote_low_f32x4 local.set $yHi
			local.get $aaLo local.get $xLo local.get $xLo f64x2.mul f64x2.add local.set $aaLo
			local.get $aaHi local.get $xHi local.get $xHi f64x2.mul f64x2.add local.set $aaHi
			local.get $bbLo local.get $yLo local.get $yLo f64x2.mul f64x2.add local.set $bbLo
			local.get $bbHi local.get $yHi local.get $yHi f64x2.mul f64x2.add local.set $bbHi
			local.get $abLo local.get $xLo local.get $yLo f64x2.mul f64x2.add local.set $abLo
			local.get $abHi local.get $xHi local.get $yHi f64x2.mul f64x2.add local.set $abHi`)}
		${accumulators.map((name, i) => `local.get $sums local.get $${name} v128.store offset=${16 * i}`).join("\n")}
		`,
	};
}

/**
 * out = s₀a + s₁b, plus c when `withC`, in float32 (see pairMix), stored as float32 (as bfloat16 bits when
 * `bf16Out`): `pair_mix_<bf16|f32>_<2|3>[_to_bf16](a, b, c, out, n, s0, s1)`, s₀ and s₁ float32 values;
 * `pair_mix_<bf16|f32>_less` takes a − c and b − c (c of a's kind) and adds c: s₀(a − c) + s₁(b − c) + c.
 */
export function pairMixWasm(bf16: boolean, withC: boolean, less: boolean, bf16Out: boolean): WasmFunction {
	const lanes = (input: (name: string) => string): string => `
			${withC ? `${input("c")} local.set $z` : ""}
			${input("a")} ${less ? "local.get $z f32x4.sub" : ""} local.get $s0 f32x4.mul
			${input("b")} ${less ? "local.get $z f32x4.sub" : ""} local.get $s1 f32x4.mul f32x4.add
			${withC ? "local.get $z f32x4.add" : ""}`;
	const arrays = withC ? ["a", "b", "c"] : ["a", "b"];
	return {
		name: resultVariant(`pair_mix_${bf16 ? "bf16" : "f32"}_${less ? "less" : withC ? 3 : 2}`, bf16Out),
		params: [
			["a", "i32"],
			["b", "i32"],
			["c", "i32"],
			["out", "i32"],
			["n", "i32"],
			["scale0", "f32"],
			["scale1", "f32"],
		],
		locals: [
			["j", "i32"],
			["z", "v128"],
			["s0", "v128"],
			["s1", "v128"],
			["v", "v128"],
			...ROUND_LOCALS,
			...pairedLoopLocals(arrays),
		],
		body: `
		${ROUND_SETUP}
		local.get $scale0 f32x4.splat local.set $s0
		local.get $scale1 f32x4.splat local.set $s1
		${elementwiseLoop(arrays, "out", (input) => bf16 && (input !== "c" || less), bf16Out, lanes)}
		`,
	};
}

export function pairFunctions(): WasmFunction[] {
	return [true, false].flatMap((bf16) => [
		pairSumsWasm(bf16, false),
		pairSumsWasm(bf16, true),
		...[false, true].flatMap((bf16Out) => [
			pairMixWasm(bf16, false, false, bf16Out),
			pairMixWasm(bf16, true, false, bf16Out),
			pairMixWasm(bf16, true, true, bf16Out),
			nearswapWasm(bf16, bf16Out),
		]),
	]);
}

/**
 * pairSums over [from, to), within one PAIR_BLOCK: returns [‖a‖², ‖b‖², ⟨a, b⟩] (of a − c and b − c where c is
 * given), each the float64 sum of four lane sums (element index mod 4) added in lane order, as the JavaScript kernel
 * adds them.
 */
export function pairSumsSimd(
	a: RangeArray,
	b: RangeArray,
	c: RangeArray | undefined,
	from: number,
	to: number,
): [number, number, number] {
	const module = simdModule();
	const kernel = module.exports[`pair_sums_${a instanceof Uint16Array ? "bf16" : "f32"}${c ? "_less" : ""}`] as (
		...args: number[]
	) => void;
	const sums = new Float64Array(module.f32.buffer, slot(2), 12);
	sums.fill(0);
	for (let at = from; at < to; at += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, to - at);
		const first = readAt(module, a, at, n, 0);
		// ‖a‖² alone (a norm, an energy) passes a twice: one copy serves both.
		const third = c ? readAt(module, c, at, n, 3) : 0;
		kernel(first, b === a ? first : readAt(module, b, at, n, 1), third, n, slot(2));
	}
	return [laneTotal(sums, 0), laneTotal(sums, 1), laneTotal(sums, 2)];
}

/** pairMix over [start, end): out = s₀a + s₁b (+ c), or with `less` s₀(a − c) + s₁(b − c) + c. */
export function pairMixSimd(
	out: ResultArray,
	a: RangeArray,
	b: RangeArray,
	c: RangeArray | undefined,
	less: boolean,
	s0: number,
	s1: number,
	start: number,
	end: number,
): void {
	const module = simdModule();
	const kernel = module.exports[
		resultVariant(
			`pair_mix_${a instanceof Uint16Array ? "bf16" : "f32"}_${less ? "less" : c ? 3 : 2}`,
			out instanceof Uint16Array,
		)
	] as (...args: number[]) => void;
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const target = writeAt(out, from, n, 3);
		const third = c ? readAt(module, c, from, n, 2) : slot(2);
		kernel(readAt(module, a, from, n, 0), readAt(module, b, from, n, 1), third, target, n, s0, s1);
		writeBack(module, target, 3, out, from, n);
	}
}

/**
 * NearSwap per element in float32, each operation rounded as PyTorch's float32 kernels round it (see nearswapMix):
 * α = min(1, max(0, (1 / max(|b − x|, 1e-6))·t)), out = αx + (1 − α)b, stored as float32 (as bfloat16 bits when
 * `bf16Out`): `nearswap_<bf16|f32>[_to_bf16](b, x, out, n, t)`, t already a float32 value. The bounds are pmax and
 * pmin (x < bound ? bound : x, and bound < x ? bound : x): one instruction each, where max and min take several to
 * order zeros and NaN.
 */
export function nearswapWasm(bf16: boolean, bf16Out: boolean): WasmFunction {
	const lanes = (input: (name: string) => string): string => `
			${input("base")} local.set $b
			${input("other")} local.tee $x
			local.get $unit local.get $b local.get $x f32x4.sub f32x4.abs local.get $floor f32x4.pmax f32x4.div
			local.get $t f32x4.mul
			local.get $zero f32x4.pmax local.get $unit f32x4.pmin local.tee $alpha
			f32x4.mul
			local.get $unit local.get $alpha f32x4.sub local.get $b f32x4.mul
			f32x4.add`;
	return {
		name: resultVariant(`nearswap_${bf16 ? "bf16" : "f32"}`, bf16Out),
		params: [
			["base", "i32"],
			["other", "i32"],
			["out", "i32"],
			["n", "i32"],
			["scale", "f32"],
		],
		locals: [
			["j", "i32"],
			["b", "v128"],
			["x", "v128"],
			["alpha", "v128"],
			["t", "v128"],
			["unit", "v128"],
			["zero", "v128"],
			["floor", "v128"],
			["v", "v128"],
			...ROUND_LOCALS,
			...pairedLoopLocals(["base", "other"]),
		],
		body: `
		${ROUND_SETUP}
		local.get $scale f32x4.splat local.set $t
		f32.const 1 f32x4.splat local.set $unit
		f32.const 1e-6 f32x4.splat local.set $floor
		${elementwiseLoop(["base", "other"], "out", bf16, bf16Out, lanes)}
		`,
	};
}

/**
 * Runs `<name>_<bf16|f32>[_to_bf16](a, b, out, n, ...scalars)`, an elementwise kernel over two inputs of one kind, over
 * [start, end) a SIMD block at a time, into float32 values or bfloat16 bits.
 */
function runPairKernel(
	name: string,
	out: ResultArray,
	a: RangeArray,
	b: RangeArray,
	scalars: readonly number[],
	start: number,
	end: number,
): void {
	const module = simdModule();
	const kernel = module.exports[
		resultVariant(`${name}_${a instanceof Uint16Array ? "bf16" : "f32"}`, out instanceof Uint16Array)
	] as (...args: number[]) => void;
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const target = writeAt(out, from, n, 2);
		kernel(readAt(module, a, from, n, 0), readAt(module, b, from, n, 1), target, n, ...scalars);
		writeBack(module, target, 2, out, from, n);
	}
}

/** nearswap over [start, end), t a float32 value. */
export function nearswapSimd(
	out: ResultArray,
	b: RangeArray,
	x: RangeArray,
	t: number,
	start: number,
	end: number,
): void {
	runPairKernel("nearswap", out, b, x, [t], start, end);
}
