import type { WasmFunction } from "../../../engine/wasm/assemble-wasm.js";
import { f32Address, laneLoop, loadLanes } from "./lane-text.js";
import type { BlockValues } from "./magnitude-simd.js";
import { laneTotal, readAt, SIMD_BLOCK, simdModule, slot, writeBack } from "./simd-kernels.js";

/** One round of the counter generator's mixing (mixRound) on the four i32 lanes of local `x`, left in `x`. */
function mixRound(x: string): string {
	return `
	local.get $${x} local.get $${x} i32.const 16 i32x4.shr_u v128.xor local.get $m1 i32x4.mul local.set $${x}
	local.get $${x} local.get $${x} i32.const 15 i32x4.shr_u v128.xor local.get $m2 i32x4.mul local.set $${x}
	local.get $${x} local.get $${x} i32.const 16 i32x4.shr_u v128.xor local.set $${x}`;
}

/** Adds the float64 values of the four float32 lanes of local `v` to the lane sums in locals `lo` and `hi`. */
function addLanes(v: string, lo: string, hi: string): string {
	return `
	local.get $${lo} local.get $${v} f64x2.promote_low_f32x4 f64x2.add local.set $${lo}
	local.get $${hi} local.get $${v} local.get $${v} i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15
	f64x2.promote_low_f32x4 f64x2.add local.set $${hi}`;
}

/**
 * DARE's mask (see dareMask) on `n` elements whose first has index `first` in the tensor: the counter stream's draw
 * for each index, kept below `threshold` (unsigned), the dropped ones +0. The L1 norms before and after are added
 * per lane (element index mod 4) in float64 into the eight sums at `sums` [before lanes 0–3, after lanes 0–3],
 * which carry over from call to call. `dare_mask(delta, n, first, threshold, k0, k1, sums)`.
 */
export function dareMaskWasm(): WasmFunction {
	return {
		name: "dare_mask",
		params: [
			["delta", "i32"],
			["n", "i32"],
			["first", "i32"],
			["threshold", "i32"],
			["k0", "i32"],
			["k1", "i32"],
			["sums", "i32"],
		],
		locals: [
			["j", "i32"],
			["index", "v128"],
			["x", "v128"],
			["v", "v128"],
			["m1", "v128"],
			["m2", "v128"],
			["key0", "v128"],
			["key1", "v128"],
			["limit", "v128"],
			["magnitude", "v128"],
			["beforeLo", "v128"],
			["beforeHi", "v128"],
			["afterLo", "v128"],
			["afterHi", "v128"],
		],
		body: `
		i32.const 0x7feb352d i32x4.splat local.set $m1
		i32.const 0x846ca68b i32x4.splat local.set $m2
		local.get $k0 i32x4.splat local.set $key0
		local.get $k1 i32x4.splat local.set $key1
		local.get $threshold i32x4.splat local.set $limit
		i32.const 0x7fffffff i32x4.splat local.set $magnitude
		local.get $sums v128.load local.set $beforeLo
		local.get $sums v128.load offset=16 local.set $beforeHi
		local.get $sums v128.load offset=32 local.set $afterLo
		local.get $sums v128.load offset=48 local.set $afterHi
		${laneLoop(`
			local.get $first local.get $j i32.add i32x4.splat v128.const i32x4 0 1 2 3 i32x4.add local.tee $index
			local.get $key0 v128.xor local.set $x
			${mixRound("x")}
			local.get $x local.get $key1 i32x4.add local.set $x
			${mixRound("x")}
			local.get $x local.get $index v128.xor local.set $x
			${mixRound("x")}
			${loadLanes("delta", "j", false)} local.get $magnitude v128.and local.set $v
			${addLanes("v", "beforeLo", "beforeHi")}
			${f32Address("delta", "j")}
			${loadLanes("delta", "j", false)} local.get $x local.get $limit i32x4.lt_u v128.and local.tee $v
			v128.store
			local.get $v local.get $magnitude v128.and local.set $v
			${addLanes("v", "afterLo", "afterHi")}`)}
		local.get $sums local.get $beforeLo v128.store
		local.get $sums local.get $beforeHi v128.store offset=16
		local.get $sums local.get $afterLo v128.store offset=32
		local.get $sums local.get $afterHi v128.store offset=48
		`,
	};
}

/** The slot of dare_mask's lane sums: past those the task-vector blocks and the one-pass combinations use. */
export const DARE_SUMS_SLOT = 7;

/**
 * dareMask over [from, to), within one DARE block; returns its L1 norms [before, after], each the float64 sum of
 * four lane sums (element index mod 4) added in lane order, as the JavaScript kernel adds them. Given block values
 * instead of an array (a task vector made block by block), it masks them where they are made and keeps only the
 * norms.
 */
export function dareMaskSimd(
	delta: Float32Array | BlockValues,
	threshold: number,
	k0: number,
	k1: number,
	from: number,
	to: number,
): [number, number] {
	const module = simdModule();
	const kernel = module.exports.dare_mask as (...args: number[]) => void;
	const sums = new Float64Array(module.f32.buffer, slot(DARE_SUMS_SLOT), 8);
	sums.fill(0);
	for (let at = from; at < to; at += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, to - at);
		const address = typeof delta === "function" ? delta(module, at, n) : readAt(module, delta, at, n, 0);
		// Lanes follow the index mod 4 from the block's start; blocks and SIMD blocks start at multiples of 4.
		kernel(address, n, at, threshold, k0, k1, slot(DARE_SUMS_SLOT));
		if (typeof delta !== "function") {
			writeBack(module, address, 0, delta, at, n);
		}
	}
	return [laneTotal(sums, 0), laneTotal(sums, 1)];
}
