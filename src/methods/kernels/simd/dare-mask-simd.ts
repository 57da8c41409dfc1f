import { kernelMemory } from "../../../engine/kernel-memory.js";
import type { WasmFunction, WasmType } from "../../../engine/wasm/assemble-wasm.js";
import type { RangeArray } from "../range-kernels.js";
import {
	COUNTER_DRAW_LOCALS,
	COUNTER_DRAW_SETUP,
	f32Address,
	halfDrawLanes,
	highToLow,
	type LanePositions,
	laneLoop,
	loadLanes,
	ROUND_LOCALS,
	ROUND_SETUP,
	roundBf16,
} from "./lane-text.js";
import { laneTotal, readAt, SIMD_BLOCK, type SimdModule, simdModule, slot, writeBack } from "./simd-kernels.js";

/** Adds the float64 values of the four float32 lanes of local `v` to the lane sums in locals `lo` and `hi`. */
function addLanes(v: string, lo: string, hi: string): string {
	return `
	local.get $${lo} local.get $${v} f64x2.promote_low_f32x4 f64x2.add local.set $${lo}
	local.get $${hi} ${highToLow(v)} f64x2.promote_low_f32x4 f64x2.add local.set $${hi}`;
}

/**
 * The lanes of δ at element `index` masked by local `keep` in place, their L1 norms before and after added to the lane
 * sums (see dareMaskWasm).
 */
function maskLanes(index: string): string {
	return `
	${loadLanes("delta", index, false)} local.get $magnitude v128.and local.set $v
	${addLanes("v", "beforeLo", "beforeHi")}
	${f32Address("delta", index)}
	${loadLanes("delta", index, false)} local.get $keep v128.and local.tee $v
	v128.store
	local.get $v local.get $magnitude v128.and local.set $v
	${addLanes("v", "afterLo", "afterHi")}`;
}

/**
 * The lanes of the task vector δ = round(x − b) at element `index`, made from x and b as stored (see made), their L1
 * norms before and after the mask in local `keep` added to the lane sums; δ itself is not kept.
 */
function madeMaskLanes(index: string, made: MadeInputs): string {
	return `
	${loadLanes("x", index, made.x === "bf16")} ${loadLanes("b", index, made.b === "bf16")} f32x4.sub local.set $v
	${roundBf16("v")} local.get $magnitude v128.and local.set $v
	${addLanes("v", "beforeLo", "beforeHi")}
	local.get $v local.get $keep v128.and local.set $v
	${addLanes("v", "afterLo", "afterHi")}`;
}

/** How a made task vector's model and base are stored: bfloat16 bits or float32 values. */
interface MadeInputs {
	x: "bf16" | "f32";
	b: "bf16" | "f32";
}

/**
 * DARE's mask (see dareMask) on `n` elements whose first has index `first` in the tensor (even): the counter stream's
 * 16-bit draw for each index, kept below `threshold` (unsigned, below 2¹⁶), the dropped ones +0. Eight elements a
 * step, the draws of four pairs; the last step's second four only where they lie below n. The L1 norms before and
 * after are added per lane (element index mod 4) in float64 into the eight sums at `sums` [before lanes 0–3, after
 * lanes 0–3], which carry over from call to call. `dare_mask(delta, n, first, threshold, k0, k1, sums)` masks δ in
 * place. Given `made`, it masks the task vector δ = round(x − b) made as x and b are read, and keeps only its norms and
 * the mask, as bits (element first + j at bit j mod 32 of word j / 32; `first` a multiple of 32), so that a later pass
 * applies it without drawing again (dare_keep_bits):
 * `dare_mask_bits_made_<x: bf16|f32>_<b: bf16|f32>(x, b, n, first, threshold, k0, k1, sums, words)`.
 */
export function dareMaskWasm(made?: MadeInputs): WasmFunction {
	const lanes = (index: string): string => (made ? madeMaskLanes(index, made) : maskLanes(index));
	return {
		name: made ? dareMaskMadeName(made) : "dare_mask",
		params: [
			...(made ? [["x", "i32"] as const, ["b", "i32"] as const] : [["delta", "i32"] as const]),
			["n", "i32"],
			["first", "i32"],
			["threshold", "i32"],
			["k0", "i32"],
			["k1", "i32"],
			["sums", "i32"],
			...(made ? [["words", "i32"] as const] : []),
		],
		locals: [
			["j", "i32"],
			["k", "i32"],
			["word", "i32"],
			["pairs", "v128"],
			["draws", "v128"],
			["v", "v128"],
			["keep", "v128"],
			["keepPairs", "v128"],
			...COUNTER_DRAW_LOCALS,
			["limit", "v128"],
			["magnitude", "v128"],
			["beforeLo", "v128"],
			["beforeHi", "v128"],
			["afterLo", "v128"],
			["afterHi", "v128"],
			...(made ? ROUND_LOCALS : []),
		],
		body: `
		${COUNTER_DRAW_SETUP}
		${made ? ROUND_SETUP : ""}
		local.get $threshold i16x8.splat local.set $limit
		i32.const 0x7fffffff i32x4.splat local.set $magnitude
		local.get $sums v128.load local.set $beforeLo
		local.get $sums v128.load offset=16 local.set $beforeHi
		local.get $sums v128.load offset=32 local.set $afterLo
		local.get $sums v128.load offset=48 local.set $afterHi
		${laneLoop(
			`
			local.get $first local.get $j i32.add i32.const 1 i32.shr_u i32x4.splat v128.const i32x4 0 1 2 3 i32x4.add
			local.set $pairs
			${halfDrawLanes("pairs", "draws")}
			local.get $draws local.get $limit i16x8.lt_u local.tee $keepPairs
			i32x4.extend_low_i16x8_s local.set $keep
			${lanes("j")}
			local.get $j i32.const 4 i32.add local.tee $k local.get $n i32.lt_u
			if
				local.get $keepPairs i32x4.extend_high_i16x8_s local.set $keep
				${lanes("k")}
			end
			${
				made
					? `
			;; The word so far (none at a word's first element), with these eight bits; stored each step, whole by the last.
			local.get $word i32.const 0 local.get $j i32.const 31 i32.and select
			local.get $keepPairs i16x8.bitmask local.get $j i32.const 31 i32.and i32.shl i32.or local.set $word
			local.get $words local.get $j i32.const 5 i32.shr_u i32.const 2 i32.shl i32.add local.get $word i32.store`
					: ""
			}`,
			8,
		)}
		local.get $sums local.get $beforeLo v128.store
		local.get $sums local.get $beforeHi v128.store offset=16
		local.get $sums local.get $afterLo v128.store offset=32
		local.get $sums local.get $afterHi v128.store offset=48
		`,
	};
}

const dareMaskMadeName = (made: MadeInputs): string => `dare_mask_bits_made_${made.x}_${made.b}`;

/**
 * DARE's mask as dare_mask_bits_made wrote it, applied to `n` elements of δ in place, and the float32 product by the
 * L1 rescale's ratio (a float32 value, see rescaleRatio) when `scaled`. The first element's bit is bit `offset` (0–31,
 * a multiple of 4) of the word at `words`: `dare_keep_bits_<scaled|plain>(delta, n, words, offset, ratio)`.
 */
export function dareKeepBitsWasm(scaled: boolean): WasmFunction {
	return {
		name: `dare_keep_bits_${scaled ? "scaled" : "plain"}`,
		params: [
			["delta", "i32"],
			["n", "i32"],
			["words", "i32"],
			["offset", "i32"],
			["ratio", "f64"],
		],
		locals: [
			["j", "i32"],
			["k", "i32"],
			["lanes", "v128"],
			["r", "v128"],
		],
		body: `
		v128.const i32x4 1 2 4 8 local.set $lanes
		local.get $ratio f32.demote_f64 f32x4.splat local.set $r
		${laneLoop(`
			local.get $offset local.get $j i32.add local.set $k
			${f32Address("delta", "j")}
			${loadLanes("delta", "j", false)}
			local.get $words local.get $k i32.const 5 i32.shr_u i32.const 2 i32.shl i32.add i32.load
			local.get $k i32.const 31 i32.and i32.shr_u i32x4.splat local.get $lanes v128.and
			i32.const 0 i32x4.splat i32x4.ne v128.and
			${scaled ? "local.get $r f32x4.mul" : ""}
			v128.store`)}
		`,
	};
}

/** The slot of dare_mask's lane sums: past those the task-vector blocks and the one-pass combinations use. */
export const DARE_SUMS_SLOT = 7;

export function dareFunctions(): WasmFunction[] {
	const kinds = ["bf16", "f32"] as const;
	return [
		dareMaskWasm(),
		...kinds.flatMap((x) => kinds.map((b) => dareMaskWasm({ x, b }))),
		dareKeepBitsWasm(false),
		dareKeepBitsWasm(true),
	];
}

/** Where a kernel copies mask words that do not lie in kernel memory: past the slots the one-pass kernels use. */
const WORDS_SLOT = 9;

/**
 * Bytes of slot WORDS_SLOT for each model's words: a block's, and one word more where it starts within a word. (A
 * function: simd-kernels.js, which defines SIMD_BLOCK, imports this module.)
 */
const wordsPlaceBytes = (): number => 4 * (SIMD_BLOCK / 32 + 1);

/**
 * The address of the mask words of elements [at, at + n) (`at` a multiple of 4): in place where `words` lies in kernel
 * memory; else in slot WORDS_SLOT (at place `place` of three, one a model), holding a copy of those words when `copy`.
 * Returns the address and the bit offset of element `at` in its word.
 */
export function wordsAt(
	module: SimdModule,
	words: Uint32Array,
	at: number,
	n: number,
	copy: boolean,
	place = 0,
): [number, number] {
	const first = Math.floor(at / 32);
	if (kernelMemory().holds(words)) {
		return [words.byteOffset + 4 * first, at % 32];
	}
	const address = slot(WORDS_SLOT) + place * wordsPlaceBytes();
	if (copy) {
		module.i32.set(words.subarray(first, Math.ceil((at + n) / 32)), address / 4);
	}
	return [address, at % 32];
}

/** The locals of maskedLanes, and MASK_LANES_SETUP, which fills them once per call. */
export const MASK_LANES_LOCALS: readonly (readonly [string, WasmType])[] = [
	["k", "i32"],
	["laneBits", "v128"],
	["pairedLaneBits", "v128"],
];
export const MASK_LANES_SETUP = `
	v128.const i32x4 1 2 4 8 local.set $laneBits
	v128.const i32x4 1 4 16 64 local.set $pairedLaneBits
`;

/**
 * The lanes of local `v` (a task vector's, at `at`) kept by the mask whose words lie at local `words`, element
 * `offset` + i at bit i (local `offset` a multiple of 8, so that the elements of a loop's step share a word): the
 * dropped ones +0, as dareKeepBits drops them. Needs MASK_LANES_LOCALS and a zero v128 in local `zero`.
 */
export function maskedLanes(v: string, words: string, at: LanePositions): string {
	return `
	local.get $${v}
	local.get $${words} local.get $offset local.get $${at.index} i32.add local.tee $k
	i32.const 5 i32.shr_u i32.const 2 i32.shl i32.add i32.load
	local.get $k ${at.first ? "i32.const 1 i32.add" : ""} i32.const 31 i32.and i32.shr_u i32x4.splat
	local.get $${at.stride === 2 ? "pairedLaneBits" : "laneBits"} v128.and local.get $zero i32x4.ne
	v128.and`;
}

/** The float64 sum of each of the two norms' four lane sums at `sums`, added in lane order. */
function laneNorms(module: SimdModule): [number, number] {
	const sums = new Float64Array(module.f32.buffer, slot(DARE_SUMS_SLOT), 8);
	return [laneTotal(sums, 0), laneTotal(sums, 1)];
}

/** Clears the norms' lane sums, which the mask kernels add to from call to call. */
function clearNorms(module: SimdModule): void {
	module.f64.fill(0, slot(DARE_SUMS_SLOT) / 8, slot(DARE_SUMS_SLOT) / 8 + 8);
}

/**
 * dareMask over [from, to) of `delta`, in place, within one DARE block; returns its L1 norms [before, after], each the
 * float64 sum of four lane sums (element index mod 4) added in lane order, as the JavaScript kernel adds them.
 */
export function dareMaskSimd(
	delta: Float32Array,
	threshold: number,
	k0: number,
	k1: number,
	from: number,
	to: number,
): [number, number] {
	const module = simdModule();
	const kernel = module.exports.dare_mask as (...args: number[]) => void;
	clearNorms(module);
	for (let at = from; at < to; at += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, to - at);
		const address = readAt(module, delta, at, n, 0);
		// Lanes follow the index mod 4 from the block's start; blocks and SIMD blocks start at multiples of 4.
		kernel(address, n, at, threshold, k0, k1, slot(DARE_SUMS_SLOT));
		writeBack(module, address, 0, delta, at, n);
	}
	return laneNorms(module);
}

/**
 * dareMask of the task vector δ = round(x − b) over [from, to) (`from` a multiple of 32), within one DARE block, made
 * as x and b are read and not kept: returns its L1 norms as dareMaskSimd does, and writes the mask into `words` as
 * bits, for dareKeepBits. Element j draws as element `offset` + j of the tensor (a block of rows' first, or 0).
 */
export function dareMaskMade(
	x: RangeArray,
	b: RangeArray,
	threshold: number,
	k0: number,
	k1: number,
	from: number,
	to: number,
	words: Uint32Array,
	offset = 0,
): [number, number] {
	const module = simdModule();
	const made: MadeInputs = {
		x: x instanceof Uint16Array ? "bf16" : "f32",
		b: b instanceof Uint16Array ? "bf16" : "f32",
	};
	const kernel = module.exports[dareMaskMadeName(made)] as (...args: number[]) => void;
	clearNorms(module);
	for (let at = from; at < to; at += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, to - at);
		const [wordsAddress] = wordsAt(module, words, at, n, false);
		kernel(
			readAt(module, x, at, n, 0),
			readAt(module, b, at, n, 1),
			n,
			offset + at,
			threshold,
			k0,
			k1,
			slot(DARE_SUMS_SLOT),
			wordsAddress,
		);
		if (wordsAddress === slot(WORDS_SLOT)) {
			words.set(module.i32.subarray(wordsAddress / 4, wordsAddress / 4 + Math.ceil(n / 32)), at / 32);
		}
	}
	return laneNorms(module);
}

/**
 * Applies the mask dareMaskMade wrote into `words` to n elements of a task vector made at `address` (element `at` of
 * the tensor first, a multiple of 4), and multiplies them by the L1 rescale's `ratio` where given.
 */
export function dareKeepBits(
	module: SimdModule,
	address: number,
	words: Uint32Array,
	at: number,
	n: number,
	ratio: number | undefined,
): void {
	const [wordsAddress, offset] = wordsAt(module, words, at, n, true);
	const kernel = module.exports[`dare_keep_bits_${ratio === undefined ? "plain" : "scaled"}`] as (
		...args: number[]
	) => void;
	kernel(address, n, wordsAddress, offset, ratio ?? 1);
}
