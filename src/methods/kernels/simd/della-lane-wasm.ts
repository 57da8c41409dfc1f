import { kernelMemory } from "../../../engine/kernel-memory.js";
import type { WasmFunction } from "../../../engine/wasm/assemble-wasm.js";
import type { RangeArray } from "../range-kernels.js";
import { COUNTER_DRAW_LOCALS, COUNTER_DRAW_SETUP, counterDrawLanes, highToLow } from "./lane-text.js";
import { histogramAddress, laneTotal, SIMD_BLOCK, type SimdModule, simdModule, slot } from "./simd-kernels.js";
import { taskVectorBlock } from "./task-arithmetic-simd.js";

/**
 * DELLA's MAGPRUNE on one lane of contiguous elements in WebAssembly, bit-identical to dellaLanes in
 * range-kernels.ts. It takes lanes whose values are bfloat16 ones (no low 16 bits set, as the task vectors of a bf16
 * merge are): a magnitude's 15 bits and the element's position then pack into one 32-bit key, and two stable byte
 * passes (scalar: a radix sort does not vectorise) sort by magnitude, equal ones by position. Keys, draws and the
 * pruning itself go four positions at a time.
 */

/** The longest lane it takes: two arrays of keys fill the histogram's 256 KiB. */
export const DELLA_LANE_MAX = 32768;

/** Turns the counts of the buckets at `$counts` (as many as `buckets` pushes) into their starting places. */
function countsToPlaces(buckets: string): string {
	return `
		i32.const 0 local.set $j
		i32.const 0 local.set $total
		block $summed loop $sum
			local.get $j ${buckets} i32.ge_u br_if $summed
			local.get $counts local.get $j i32.const 2 i32.shl i32.add local.tee $at i32.load local.set $key
			local.get $at local.get $total i32.store
			local.get $total local.get $key i32.add local.set $total
			local.get $j i32.const 1 i32.add local.set $j
			br $sum
		end end`;
}

/** One stable pass of the radix sort on byte `shift / 8` of the keys at `from`, into `to`. */
function radixPass(shift: number): string {
	return `
	local.get $any local.get $all i32.xor i32.const ${shift} i32.shr_u i32.const 0xff i32.and
	if
		i32.const 0 local.set $j
		block $cleared loop $clear
			local.get $j i32.const 256 i32.ge_u br_if $cleared
			local.get $counts local.get $j i32.const 2 i32.shl i32.add i32.const 0 i32.store
			local.get $j i32.const 1 i32.add local.set $j
			br $clear
		end end
		i32.const 0 local.set $j
		block $counted loop $count
			local.get $j local.get $length i32.ge_u br_if $counted
			local.get $counts
			local.get $from local.get $j i32.const 2 i32.shl i32.add i32.load i32.const ${shift} i32.shr_u i32.const 0xff i32.and
			i32.const 2 i32.shl i32.add local.tee $at
			local.get $at i32.load i32.const 1 i32.add i32.store
			local.get $j i32.const 1 i32.add local.set $j
			br $count
		end end
		${countsToPlaces("i32.const 256")}
		i32.const 0 local.set $j
		block $placed loop $place
			local.get $j local.get $length i32.ge_u br_if $placed
			local.get $from local.get $j i32.const 2 i32.shl i32.add i32.load local.set $key
			local.get $counts local.get $key i32.const ${shift} i32.shr_u i32.const 0xff i32.and i32.const 2 i32.shl i32.add local.tee $at
			i32.load local.set $place
			local.get $at local.get $place i32.const 1 i32.add i32.store
			local.get $to local.get $place i32.const 2 i32.shl i32.add local.get $key i32.store
			local.get $j i32.const 1 i32.add local.set $j
			br $place
		end end
		local.get $from local.set $at
		local.get $to local.set $from
		local.get $at local.set $to
	end`;
}

/** Pushes `op` (i32x4.max_u, i32x4.min_u) of the four lanes of local `v`. */
function acrossLanes(v: string, op: string): string {
	return `local.get $${v} local.get $${v} local.get $${v} i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${op}
		local.tee $${v} local.get $${v} local.get $${v} i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 ${op}
		i32x4.extract_lane 0`;
}

/** The most buckets the counting sort takes: slot 0's counts. */
const COUNTING_MAX = 16384;

/**
 * Each position's rank by a counting sort, for a lane whose magnitudes span few buckets ($range, at most
 * COUNTING_MAX): bucket 0 holds the zeros and bucket m − lo + 1 magnitude m. The keys become bucket numbers, the counts
 * starting places, and each position in order takes the next place of its bucket, so that equal magnitudes rank by
 * position, as the two byte passes rank them. The ranks go into $swap, which becomes $to.
 */
function countingRanks(): string {
	return `
		i32.const 0 local.set $j
		block $cleared loop $clear
			local.get $j local.get $range i32.ge_u br_if $cleared
			local.get $counts local.get $j i32.const 2 i32.shl i32.add v128.const i32x4 0 0 0 0 v128.store
			local.get $j i32.const 4 i32.add local.set $j
			br $clear
		end end
		i32.const 0 local.set $j
		block $counted loop $count
			local.get $j local.get $length i32.ge_u br_if $counted
			local.get $keys local.get $j i32.const 2 i32.shl i32.add local.tee $at
			local.get $at i32.load i32.const 16 i32.shr_u local.tee $key
			local.get $lo i32.sub i32.const 1 i32.add i32.const 0 local.get $key select local.tee $key i32.store
			local.get $counts local.get $key i32.const 2 i32.shl i32.add local.tee $at
			local.get $at i32.load i32.const 1 i32.add i32.store
			local.get $j i32.const 1 i32.add local.set $j
			br $count
		end end
		${countsToPlaces("local.get $range")}
		i32.const 0 local.set $j
		block $ranked loop $rank
			local.get $j local.get $length i32.ge_u br_if $ranked
			local.get $counts local.get $keys local.get $j i32.const 2 i32.shl i32.add i32.load i32.const 2 i32.shl i32.add
			local.tee $at i32.load local.set $place
			local.get $at local.get $place i32.const 1 i32.add i32.store
			local.get $swap local.get $j i32.const 2 i32.shl i32.add local.get $place i32.store
			local.get $j i32.const 1 i32.add local.set $j
			br $rank
		end end
		local.get $swap local.set $to`;
}

/** A loop over j in [0, length), four at a time; lanes past `length` are masked with local `valid`. */
function quadLoop(body: string): string {
	return `
	i32.const 0 local.set $j
	block $done
		loop $next
			local.get $j local.get $length i32.ge_u br_if $done
			local.get $j i32x4.splat v128.const i32x4 0 1 2 3 i32x4.add local.tee $position
			local.get $length i32x4.splat i32x4.lt_u local.set $valid
			${body}
			local.get $j i32.const 4 i32.add local.set $j
			br $next
		end
	end`;
}

/** Joins the low 32 bits of each float64 lane of two masks into four i32 lanes. */
const NARROW_MASKS = "i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27";

/**
 * `della_lane(values, length, first, lowOffset, step, k0, k1, keys, swap, counts, norms)`: prunes the lane of
 * `length` float32 values at `values` (tensor indices from `first`) in place and stores its L1 norms before and after
 * at `norms` as four float64 lane sums each (position in the lane mod 4). Keys (15 magnitude bits, then the position)
 * are made four at a time and sorted by two stable byte passes; the sorted keys give each position its rank, which
 * the last pass, four positions at a time, turns into a keep probability lowOffset + rank·step to compare with the
 * position's draw. Returns 0, touching nothing, if a value has any of its low 16 bits set. `della_lane_bits` takes one
 * more, `words`, where it also writes the mask as bits (position j at bit j mod 32 of word j / 32), for a later pass
 * that reads them (dare_keep_bits) instead of ranking the lane again.
 */
export function dellaLaneWasm(writeBits: boolean): WasmFunction {
	const half = (v: string, high: boolean): string => (high ? highToLow(v) : `local.get $${v}`);
	const promoted = (v: string, high: boolean): string => `${half(v, high)} f64x2.promote_low_f32x4`;
	const keepHalf = (high: boolean): string => `
			${half("x", high)} f64x2.convert_low_i32x4_u local.get $unit f64x2.mul
			local.get $lowOffset2
			${half("rank", high)} f64x2.convert_low_i32x4_u local.get $step2 f64x2.mul f64x2.add
			f64x2.lt`;
	return {
		name: writeBits ? "della_lane_bits" : "della_lane",
		params: [
			["values", "i32"],
			["length", "i32"],
			["first", "i32"],
			["lowOffset", "f64"],
			["step", "f64"],
			["k0", "i32"],
			["k1", "i32"],
			["keys", "i32"],
			["swap", "i32"],
			["counts", "i32"],
			["norms", "i32"],
			...(writeBits ? [["words", "i32"] as const] : []),
		],
		result: "i32",
		locals: [
			["j", "i32"],
			["word", "i32"],
			["lo", "i32"],
			["hi", "i32"],
			["range", "i32"],
			["key", "i32"],
			["any", "i32"],
			["all", "i32"],
			["at", "i32"],
			["total", "i32"],
			["place", "i32"],
			["from", "i32"],
			["to", "i32"],
			["v", "v128"],
			["x", "v128"],
			["rank", "v128"],
			["index", "v128"],
			["abs", "v128"],
			["position", "v128"],
			["valid", "v128"],
			["lowBits", "v128"],
			["anyLanes", "v128"],
			["allLanes", "v128"],
			["minLanes", "v128"],
			["maxLanes", "v128"],
			...COUNTER_DRAW_LOCALS,
			["unit", "v128"],
			["lowOffset2", "v128"],
			["step2", "v128"],
			["magnitude", "v128"],
			["beforeLo", "v128"],
			["beforeHi", "v128"],
			["afterLo", "v128"],
			["afterHi", "v128"],
		],
		body: `
		i32.const -1 i32x4.splat local.set $allLanes
		i32.const -1 i32x4.splat local.set $minLanes
		i32.const 0x7fffffff i32x4.splat local.set $magnitude
		;; Keys, four at a time; lanes past the lane's end count as zeros (they only make the byte passes run).
		${quadLoop(`
			local.get $values local.get $j i32.const 2 i32.shl i32.add v128.load local.get $valid v128.and local.tee $v
			i32.const 0xffff i32x4.splat v128.and local.get $lowBits v128.or local.set $lowBits
			local.get $v i32.const 0x7fff0000 i32x4.splat v128.and local.tee $v
			local.get $anyLanes v128.or local.set $anyLanes
			local.get $v local.get $allLanes v128.and local.set $allLanes
			local.get $v i32.const 16 i32x4.shr_u local.tee $v
			local.get $maxLanes i32x4.max_u local.set $maxLanes
			local.get $v local.get $v i32.const 0 i32x4.splat i32x4.eq v128.or local.get $minLanes i32x4.min_u local.set $minLanes
			local.get $keys local.get $j i32.const 2 i32.shl i32.add local.get $v i32.const 16 i32x4.shl local.get $position v128.or v128.store`)}
		local.get $lowBits v128.any_true
		if
			i32.const 0 return
		end
		;; The magnitudes' range: the largest, and the smallest but zero (1 where all are zero).
		${acrossLanes("maxLanes", "i32x4.max_u")} local.set $hi
		${acrossLanes("minLanes", "i32x4.min_u")} local.set $lo
		local.get $lo i32.const 1 local.get $hi select local.set $lo
		local.get $hi local.get $lo i32.sub i32.const 2 i32.add local.tee $range
		local.get $length i32.const 1 i32.shl i32.const 256 i32.add i32.le_u
		local.get $range i32.const ${COUNTING_MAX} i32.le_u i32.and
		if
			${countingRanks()}
		else
			${[0, 1, 2, 3].map((lane) => `local.get $anyLanes i32x4.extract_lane ${lane} local.get $any i32.or local.set $any`).join(" ")}
			i32.const -1 local.set $all
			${[0, 1, 2, 3].map((lane) => `local.get $allLanes i32x4.extract_lane ${lane} local.get $all i32.and local.set $all`).join(" ")}
			local.get $keys local.set $from
			local.get $swap local.set $to
			${radixPass(16)}
			${radixPass(24)}
			;; Each position's rank, into the other buffer.
			i32.const 0 local.set $j
			block $ranked loop $rank
				local.get $j local.get $length i32.ge_u br_if $ranked
				local.get $to
				local.get $from local.get $j i32.const 2 i32.shl i32.add i32.load i32.const 0xffff i32.and
				i32.const 2 i32.shl i32.add local.get $j i32.store
				local.get $j i32.const 1 i32.add local.set $j
				br $rank
			end end
		end
		;; counterDraw(k0, k1, index) per position; kept iff draw / 2³² (exactly draw · 2⁻³²) < lowOffset + rank · step.
		${COUNTER_DRAW_SETUP}
		f64.const 2.3283064365386963e-10 f64x2.splat local.set $unit
		local.get $lowOffset f64x2.splat local.set $lowOffset2
		local.get $step f64x2.splat local.set $step2
		${quadLoop(`
			local.get $first i32x4.splat local.get $position i32x4.add local.set $index
			${counterDrawLanes("index", "x")}
			local.get $to local.get $j i32.const 2 i32.shl i32.add v128.load local.set $rank
			${keepHalf(false)}
			${keepHalf(true)}
			${NARROW_MASKS} local.get $valid v128.and local.set $x
			local.get $values local.get $j i32.const 2 i32.shl i32.add v128.load local.tee $v
			local.get $valid v128.and local.get $magnitude v128.and local.set $abs
			local.get $beforeLo ${promoted("abs", false)} f64x2.add local.set $beforeLo
			local.get $beforeHi ${promoted("abs", true)} f64x2.add local.set $beforeHi
			local.get $abs local.get $x v128.and local.set $abs
			local.get $afterLo ${promoted("abs", false)} f64x2.add local.set $afterLo
			local.get $afterHi ${promoted("abs", true)} f64x2.add local.set $afterHi
			;; Kept, dropped (+0), or past the lane's end (as it was).
			local.get $values local.get $j i32.const 2 i32.shl i32.add
			local.get $v local.get $x v128.and local.get $v local.get $valid v128.bitselect
			v128.store${
				writeBits
					? `
			;; As dare_mask_bits_made writes its words: each step stores the word so far, whole by its last step.
			local.get $word i32.const 0 local.get $j i32.const 31 i32.and select
			local.get $x i32x4.bitmask local.get $j i32.const 31 i32.and i32.shl i32.or local.set $word
			local.get $words local.get $j i32.const 5 i32.shr_u i32.const 2 i32.shl i32.add local.get $word i32.store`
					: ""
			}`)}
		local.get $norms local.get $beforeLo v128.store
		local.get $norms local.get $beforeHi v128.store offset=16
		local.get $norms local.get $afterLo v128.store offset=32
		local.get $norms local.get $afterHi v128.store offset=48
		i32.const 1
		`,
	};
}

/**
 * della-lanes on one lane of `length` contiguous elements from `first` when `delta` lies in kernel memory and the
 * lane is short enough; returns its norms [before, after] (each four lane sums added in lane order), or undefined for
 * the JavaScript kernel to prune it.
 */
export function pruneDellaLane(
	delta: Float32Array,
	first: number,
	length: number,
	probabilities: { low: number; offset: number; step: number },
	keys: { k0: number; k1: number },
): [number, number] | undefined {
	if (length > DELLA_LANE_MAX || !kernelMemory().holds(delta)) {
		return undefined;
	}
	return runDellaLane(simdModule(), "della_lane", delta.byteOffset + first * 4, first, length, probabilities, keys);
}

/**
 * Runs della_lane (or della_lane_bits, `words` its words' address) on the lane of `length` float32 values at address
 * `values`, whose first element is element `first` of the tensor; returns its norms [before, after], or undefined
 * where a value has low bits set.
 */
function runDellaLane(
	module: SimdModule,
	name: "della_lane" | "della_lane_bits",
	values: number,
	first: number,
	length: number,
	probabilities: { low: number; offset: number; step: number },
	keys: { k0: number; k1: number },
	words?: number,
): [number, number] | undefined {
	const kernel = module.exports[name] as (...args: number[]) => number;
	const histogram = histogramAddress();
	const norms = slot(1);
	const done = kernel(
		values,
		length,
		first,
		probabilities.low + probabilities.offset,
		probabilities.step,
		keys.k0,
		keys.k1,
		histogram,
		histogram + DELLA_LANE_MAX * 4,
		slot(0),
		norms,
		...(words === undefined ? [] : [words]),
	);
	if (done === 0) {
		return undefined;
	}
	const lanes = module.f64.subarray(norms / 8, norms / 8 + 8);
	return [laneTotal(lanes, 0), laneTotal(lanes, 1)];
}

/** Where dellaLaneMask makes a lane's task vector: slots 6 and 7, which together hold DELLA_LANE_MAX values. */
const LANE_SLOT = 6;
/** Where it writes a lane's mask words that do not lie in kernel memory, before copying them out. */
const LANE_WORDS_SLOT = 8;

/**
 * DELLA's MAGPRUNE mask of one lane of the task vector δ = round(x − b) of a bf16 merge: the `length` (at most
 * DELLA_LANE_MAX) contiguous elements from `first`. δ is made in this thread's slots and ranked and drawn as della_lane
 * does, and the mask is written into `words` as bits (element i at bit i mod 32 of word i / 32; `first` a multiple of
 * 32 unless the lane starts the tensor). Returns the lane's L1 norms [before, after], as pruneDellaLane does. Element
 * j draws as element `offset` + j of the tensor (a block of rows' first, or 0).
 */
export function dellaLaneMask(
	x: RangeArray,
	b: RangeArray,
	first: number,
	length: number,
	probabilities: { low: number; offset: number; step: number },
	keys: { k0: number; k1: number },
	words: Uint32Array,
	offset = 0,
): [number, number] {
	const module = simdModule();
	const values = slot(LANE_SLOT);
	for (let at = 0; at < length; at += SIMD_BLOCK) {
		taskVectorBlock(module, x, b, first + at, Math.min(SIMD_BLOCK, length - at), { x: 4, b: 5 }, values + 4 * at);
	}
	const inPlace = kernelMemory().holds(words);
	const wordsAddress = inPlace ? words.byteOffset + 4 * (first / 32) : slot(LANE_WORDS_SLOT);
	const norms = runDellaLane(
		module,
		"della_lane_bits",
		values,
		offset + first,
		length,
		probabilities,
		keys,
		wordsAddress,
	);
	if (norms === undefined) {
		throw new Error("della_lane_bits: a task vector of a bf16 merge had bits below its bfloat16 ones");
	}
	if (!inPlace) {
		words.set(module.i32.subarray(wordsAddress / 4, wordsAddress / 4 + Math.ceil(length / 32)), first / 32);
	}
	return norms;
}
