import type { WasmFunction } from "../../../engine/wasm/assemble-wasm.js";
import { LOW_BUCKETS, TOP_BUCKETS } from "../magnitude-buckets.js";
import type { RangeArray } from "../range-kernels.js";
import { f32Address, laneLoop, loadLanes, ROUND_LOCALS, ROUND_SETUP, roundBf16 } from "./lane-text.js";
import {
	histogramAddress,
	laneTotal,
	readAt,
	SIMD_BLOCK,
	type SimdModule,
	simdModule,
	slot,
	writeAt,
	writeBack,
} from "./simd-kernels.js";

/**
 * SIMD kernels over float32 bit patterns, bit-identical to their JavaScript kernels in range-kernels.ts: the
 * encoding to bfloat16 and the decoding from it, and the two passes of keepMagnitudeRanks (the boundary ties counted, then the cut).
 */

/** The magnitude mask and the two boundaries, in all four lanes (locals magnitude, upper and lower). */
const BOUNDS_SETUP = `
		i32.const 0x7fffffff i32x4.splat local.set $magnitude
		local.get $upperBits i32x4.splat local.set $upper
		local.get $lowerBits i32x4.splat local.set $lower`;

/** float32 to bfloat16 bit patterns, eight lanes a step: `encode_bf16(values, halves, n)`. */
export function encodeBf16Wasm(): WasmFunction {
	return {
		name: "encode_bf16",
		params: [
			["values", "i32"],
			["halves", "i32"],
			["n", "i32"],
		],
		locals: [["j", "i32"], ["v", "v128"], ["w", "v128"], ...ROUND_LOCALS],
		body: `
		${ROUND_SETUP}
		${laneLoop(
			`
			local.get $values local.get $j i32.const 2 i32.shl i32.add v128.load local.set $v
			local.get $values local.get $j i32.const 2 i32.shl i32.add v128.load offset=16 local.set $w
			local.get $halves local.get $j i32.const 1 i32.shl i32.add
			${roundBf16("v")} i32.const 16 i32x4.shr_u
			${roundBf16("w")} i32.const 16 i32x4.shr_u
			i16x8.narrow_i32x4_u v128.store`,
			8,
		)}
		`,
	};
}

/** bfloat16 bit patterns to float32 values (a shift), four lanes a step: `decode_bf16(halves, values, n)`. */
export function decodeBf16Wasm(): WasmFunction {
	return {
		name: "decode_bf16",
		params: [
			["halves", "i32"],
			["values", "i32"],
			["n", "i32"],
		],
		locals: [["j", "i32"]],
		body: laneLoop(`
			${f32Address("values", "j")}
			${loadLanes("halves", "j", true)}
			v128.store`),
	};
}

/**
 * Counts the elements whose magnitude's bits equal `upper` and `lower` into two vectors of lane counts at `counts`:
 * `count_magnitude_ties(values, counts, n, upper, lower)`.
 */
export function countMagnitudeTiesWasm(): WasmFunction {
	return {
		name: "count_magnitude_ties",
		params: [
			["values", "i32"],
			["counts", "i32"],
			["n", "i32"],
			["upperBits", "i32"],
			["lowerBits", "i32"],
		],
		locals: [
			["j", "i32"],
			["m", "v128"],
			["magnitude", "v128"],
			["upper", "v128"],
			["lower", "v128"],
			["upperCount", "v128"],
			["lowerCount", "v128"],
		],
		body: `
		${BOUNDS_SETUP}
		${laneLoop(`
			local.get $values local.get $j i32.const 2 i32.shl i32.add v128.load local.get $magnitude v128.and local.set $m
			local.get $upperCount local.get $m local.get $upper i32x4.eq i32x4.sub local.set $upperCount
			local.get $lowerCount local.get $m local.get $lower i32x4.eq i32x4.sub local.set $lowerCount`)}
		local.get $counts local.get $upperCount v128.store
		local.get $counts local.get $lowerCount v128.store offset=16
		`,
	};
}

/**
 * keepMagnitudeRanks' cut, element by element: each element strictly between the boundary magnitudes is kept, and
 * one equal to a boundary by its index (`first` + its position): an upper tie from `upperCut` on, a lower tie before
 * `lowerCut`; the rest are zeroed. `keep_magnitude_ranks(values, out, n, upper, lower, first, upperCut, lowerCut)`.
 */
export function keepMagnitudeRanksWasm(): WasmFunction {
	return {
		name: "keep_magnitude_ranks",
		params: [
			["values", "i32"],
			["out", "i32"],
			["n", "i32"],
			["upperBits", "i32"],
			["lowerBits", "i32"],
			["first", "i32"],
			["upperCut", "i32"],
			["lowerCut", "i32"],
		],
		locals: [
			["j", "i32"],
			["v", "v128"],
			["m", "v128"],
			["index", "v128"],
			["magnitude", "v128"],
			["upper", "v128"],
			["lower", "v128"],
			["fromUpper", "v128"],
			["beforeLower", "v128"],
		],
		body: `
		${BOUNDS_SETUP}
		local.get $upperCut i32x4.splat local.set $fromUpper
		local.get $lowerCut i32x4.splat local.set $beforeLower
		${laneLoop(`
			local.get $values local.get $j i32.const 2 i32.shl i32.add v128.load local.tee $v
			local.get $magnitude v128.and local.set $m
			local.get $first local.get $j i32.add i32x4.splat v128.const i32x4 0 1 2 3 i32x4.add local.set $index
			local.get $out local.get $j i32.const 2 i32.shl i32.add
			local.get $v
			;; Kept where lower < m < upper (magnitudes' bits order as their values). No upper bound is 0x80000000,
			;; above every magnitude unsigned; no lower bound is −1, below every one signed.
			local.get $m local.get $upper i32x4.lt_u local.get $m local.get $lower i32x4.gt_s v128.and
			;; A tie is kept where neither of its boundaries' index cuts leaves it out.
			local.get $m local.get $upper i32x4.eq local.get $m local.get $lower i32x4.eq v128.or
			local.get $m local.get $upper i32x4.ne local.get $index local.get $fromUpper i32x4.ge_u v128.or v128.and
			local.get $m local.get $lower i32x4.ne local.get $index local.get $beforeLower i32x4.lt_u v128.or v128.and
			v128.or
			v128.and v128.store`)}
		`,
	};
}

/**
 * keepMagnitudeRanks' cut over a block that lies wholly on one side of each index cut, where a tie's fate is the
 * same for the whole block: elements with lower < |x| ≤ upper (their bits compared as signed integers) keep their
 * value, the rest are zeroed, in place: `keep_magnitude_between(values, n, lower, upper)`.
 */
export function keepMagnitudeBetweenWasm(): WasmFunction {
	return {
		name: "keep_magnitude_between",
		params: [
			["values", "i32"],
			["n", "i32"],
			["lowerBits", "i32"],
			["upperBits", "i32"],
		],
		locals: [
			["j", "i32"],
			["v", "v128"],
			["m", "v128"],
			["magnitude", "v128"],
			["upper", "v128"],
			["lower", "v128"],
		],
		body: `
		i32.const 0x7fffffff i32x4.splat local.set $magnitude
		local.get $upperBits i32x4.splat local.set $upper
		local.get $lowerBits i32x4.splat local.set $lower
		${laneLoop(`
			${f32Address("values", "j")}
			${f32Address("values", "j")} v128.load local.tee $v
			local.get $v local.get $magnitude v128.and local.tee $m local.get $lower i32x4.gt_s
			local.get $m local.get $upper i32x4.gt_s v128.andnot
			v128.and v128.store`)}
		`,
	};
}

/**
 * The radix select's histograms of magnitude bits (see magnitudeHistogram), into 65536 counts at `counts`:
 * `magnitude_histogram(values, counts, n, high)`. With high −1 it counts the top 16 bits of each |x| and returns how
 * many elements have any of the low 16 bits set; else it counts the low 16 bits of those whose top 16 bits are `high`.
 */
export function magnitudeHistogramWasm(): WasmFunction {
	return {
		name: "magnitude_histogram",
		params: [
			["values", "i32"],
			["counts", "i32"],
			["n", "i32"],
			["high", "i32"],
		],
		result: "i32",
		locals: [
			["j", "i32"],
			["b", "i32"],
			["at", "i32"],
			["lowSet", "i32"],
			["v", "v128"],
			["low", "v128"],
			["highLanes", "v128"],
		],
		body: `
		local.get $high i32.const 0 i32.lt_s
		if
			;; Four at a time: the magnitudes' bucket addresses and their low bits in SIMD, then four scalar increments.
			block $whole
				loop $four
					local.get $j i32.const 4 i32.add local.get $n i32.gt_u br_if $whole
					local.get $values local.get $j i32.const 2 i32.shl i32.add v128.load
					i32.const 0x7fffffff i32x4.splat v128.and local.tee $v
					i32.const 0xffff i32x4.splat v128.and i32.const 0 i32x4.splat i32x4.ne
					local.get $low i32x4.add local.set $low
					local.get $v i32.const 14 i32x4.shr_u i32.const 0x1fffc i32x4.splat v128.and
					local.get $counts i32x4.splat i32x4.add local.set $v
					${[0, 1, 2, 3]
						.map(
							(lane) =>
								`local.get $v i32x4.extract_lane ${lane} local.tee $at local.get $at i32.load i32.const 1 i32.add i32.store`,
						)
						.join("\n\t\t\t\t\t")}
					local.get $j i32.const 4 i32.add local.set $j
					br $four
				end
			end
			;; The lane masks are −1 where low bits are set.
			i32.const 0
			local.get $low i32x4.extract_lane 0 i32.sub local.get $low i32x4.extract_lane 1 i32.sub
			local.get $low i32x4.extract_lane 2 i32.sub local.get $low i32x4.extract_lane 3 i32.sub
			local.set $lowSet
			block $done
				loop $next
					local.get $j local.get $n i32.ge_u br_if $done
					local.get $values local.get $j i32.const 2 i32.shl i32.add i32.load i32.const 0x7fffffff i32.and local.tee $b
					i32.const 0xffff i32.and i32.const 0 i32.ne local.get $lowSet i32.add local.set $lowSet
					local.get $counts local.get $b i32.const 16 i32.shr_u i32.const 2 i32.shl i32.add local.tee $at
					local.get $at i32.load i32.const 1 i32.add i32.store
					local.get $j i32.const 1 i32.add local.set $j
					br $next
				end
			end
		else
			;; Four at a time: few elements lie in bucket \`high\`, so a step that has none of them only compares.
			local.get $high i32x4.splat local.set $highLanes
			block $whole
				loop $four
					local.get $j i32.const 4 i32.add local.get $n i32.gt_u br_if $whole
					local.get $values local.get $j i32.const 2 i32.shl i32.add v128.load
					i32.const 0x7fffffff i32x4.splat v128.and local.tee $v
					i32.const 16 i32x4.shr_u local.get $highLanes i32x4.eq v128.any_true
					if
						${[0, 1, 2, 3]
							.map(
								(lane) => `
						local.get $v i32x4.extract_lane ${lane} local.tee $b i32.const 16 i32.shr_u local.get $high i32.eq
						if
							local.get $counts local.get $b i32.const 0xffff i32.and i32.const 2 i32.shl i32.add local.tee $at
							local.get $at i32.load i32.const 1 i32.add i32.store
						end`,
							)
							.join("")}
					end
					local.get $j i32.const 4 i32.add local.set $j
					br $four
				end
			end
			;; The last one to three elements.
			block $done
				loop $next
					local.get $j local.get $n i32.ge_u br_if $done
					local.get $values local.get $j i32.const 2 i32.shl i32.add i32.load i32.const 0x7fffffff i32.and local.tee $b
					i32.const 16 i32.shr_u local.get $high i32.eq
					if
						local.get $counts local.get $b i32.const 0xffff i32.and i32.const 2 i32.shl i32.add local.tee $at
						local.get $at i32.load i32.const 1 i32.add i32.store
					end
					local.get $j i32.const 1 i32.add local.set $j
					br $next
				end
			end
		end
		local.get $lowSet
		`,
	};
}

/** The scalar increments of the counts at the bucket addresses in `lanes` of the i32 lanes of local `at4`. */
function incrementBuckets(lanes: readonly number[] = [0, 1, 2, 3]): string {
	return lanes
		.map(
			(lane) =>
				`local.get $at4 i32x4.extract_lane ${lane} local.tee $at local.get $at i32.load i32.const 1 i32.add i32.store`,
		)
		.join("\n");
}

/**
 * magnitude_histogram's top buckets of the task vector δ = round(x − b) of a bf16 merge, made in registers as
 * task_vector_<x>_<b>_round makes it (x and b float32 values or bfloat16 bits), never stored: the counts at `counts`
 * as magnitude_histogram counts them with `high` −1. δ is rounded to bfloat16, so no low bits are set:
 * `task_vector_histogram_<x: bf16|f32>_<b: bf16|f32>(x, b, counts, n)`.
 */
export function taskVectorHistogramWasm(bf16: boolean, baseBf16: boolean): WasmFunction {
	const made = `
		${loadLanes("x", "j", bf16)} ${loadLanes("b", "j", baseBf16)} f32x4.sub local.set $v
		${roundBf16("v")} i32.const 0x7fffffff i32x4.splat v128.and
		i32.const 14 i32x4.shr_u i32.const 0x1fffc i32x4.splat v128.and
		local.get $counts i32x4.splat i32x4.add local.set $at4`;
	return {
		name: `task_vector_histogram_${bf16 ? "bf16" : "f32"}_${baseBf16 ? "bf16" : "f32"}`,
		params: [
			["x", "i32"],
			["b", "i32"],
			["counts", "i32"],
			["n", "i32"],
		],
		locals: [["j", "i32"], ["at", "i32"], ["rest", "i32"], ["v", "v128"], ["at4", "v128"], ...ROUND_LOCALS],
		body: `
		${ROUND_SETUP}
		block $whole
			loop $four
				local.get $j i32.const 4 i32.add local.get $n i32.gt_u br_if $whole
				${made}
				${incrementBuckets()}
				local.get $j i32.const 4 i32.add local.set $j
				br $four
			end
		end
		;; The last one to three elements (read from a slot, zeros after them): four lanes made, the valid ones counted.
		local.get $j local.get $n i32.lt_u
		if
			${made}
			local.get $n local.get $j i32.sub local.set $rest
			${incrementBuckets([0])}
			local.get $rest i32.const 2 i32.ge_u
			if ${incrementBuckets([1])} end
			local.get $rest i32.const 3 i32.ge_u
			if ${incrementBuckets([2])} end
		end
		`,
	};
}

/**
 * For each mask of four lanes (bit i for lane i), the swizzle that moves the lanes set to the front, in order, as
 * four i32x4 lanes; bytes 0x80 and up give zero.
 */
const COMPACT_LANES = Array.from({ length: 16 }, (_, mask) => {
	const picked = [0, 1, 2, 3].filter((lane) => (mask >> lane) & 1);
	// Lane i is bytes 4i to 4i + 3, as one i32x4 lane of the swizzle (little-endian).
	return [0, 1, 2, 3].map((k) => {
		const lane = picked[k];
		return lane === undefined ? "0x80808080" : `0x${(0x03020100 + 0x04040404 * lane).toString(16)}`;
	});
});

/**
 * The band pass of magnitudeAtRankInBand over the magnitudes (bits, sign cleared) of n values: counts those at or
 * above `upper`, equal to `upper` and, below it, equal to `lower` into three vectors of lane counts at `counts` (the
 * last one to three elements' into three i32 after them), and writes those strictly between to `out` (which has room
 * for four lanes past n), returning how many. Without a branch: each step's lanes between are swizzled to the front
 * and stored whole, the next step's store starting past them (the swizzles lie at counts + 64). An edge that no
 * magnitude can equal (0x80000000 for `upper`, 0xffffffff for `lower`) leaves the band open on its side, from `from`
 * up where `lower` is open: `magnitude_band(values, n, from, lower, upper, out, counts)`.
 */
export function magnitudeBandWasm(): WasmFunction {
	const tally = (counter: string, test: string): string =>
		`local.get $${counter} local.get $m ${test} i32x4.sub local.set $${counter}`;
	const tallyTail = (counter: string, test: string): string => `
				local.get $b ${test} local.get $${counter} i32.add local.set $${counter}`;
	return {
		name: "magnitude_band",
		params: [
			["values", "i32"],
			["n", "i32"],
			["from", "i32"],
			["lower", "i32"],
			["upper", "i32"],
			["out", "i32"],
			["counts", "i32"],
		],
		result: "i32",
		locals: [
			["j", "i32"],
			["b", "i32"],
			["mask", "i32"],
			["written", "i32"],
			["aboveTail", "i32"],
			["upperTail", "i32"],
			["lowerTail", "i32"],
			["m", "v128"],
			["atOrAbove", "v128"],
			["above", "v128"],
			["atUpper", "v128"],
			["atLower", "v128"],
			["fromLanes", "v128"],
			["lowerLanes", "v128"],
			["upperLanes", "v128"],
		],
		body: `
		${COMPACT_LANES.map((lanes, mask) => `local.get $counts v128.const i32x4 ${lanes.join(" ")} v128.store offset=${64 + 16 * mask}`).join("\n")}
		local.get $from i32x4.splat local.set $fromLanes
		local.get $lower i32x4.splat local.set $lowerLanes
		local.get $upper i32x4.splat local.set $upperLanes
		block $whole
			loop $four
				local.get $j i32.const 4 i32.add local.get $n i32.gt_u br_if $whole
				local.get $values local.get $j i32.const 2 i32.shl i32.add v128.load
				i32.const 0x7fffffff i32x4.splat v128.and local.set $m
				local.get $above local.get $m local.get $upperLanes i32x4.ge_u local.tee $atOrAbove i32x4.sub local.set $above
				${tally("atUpper", "local.get $upperLanes i32x4.eq")}
				${tally("atLower", "local.get $lowerLanes i32x4.eq local.get $atOrAbove v128.andnot")}
				local.get $m local.get $fromLanes i32x4.ge_u local.get $atOrAbove v128.andnot
				local.get $m local.get $lowerLanes i32x4.ne v128.and i32x4.bitmask local.set $mask
				local.get $out local.get $written i32.const 2 i32.shl i32.add
				local.get $m local.get $counts local.get $mask i32.const 4 i32.shl i32.add v128.load offset=64 i8x16.swizzle
				v128.store
				local.get $written local.get $mask i32.popcnt i32.add local.set $written
				local.get $j i32.const 4 i32.add local.set $j
				br $four
			end
		end
		block $done
			loop $next
				local.get $j local.get $n i32.ge_u br_if $done
				local.get $values local.get $j i32.const 2 i32.shl i32.add i32.load i32.const 0x7fffffff i32.and local.set $b
				${tallyTail("aboveTail", "local.get $upper i32.ge_u")}
				${tallyTail("upperTail", "local.get $upper i32.eq")}
				${tallyTail("lowerTail", "local.get $lower i32.eq local.get $b local.get $upper i32.lt_u i32.and")}
				local.get $b local.get $from i32.ge_u local.get $b local.get $upper i32.lt_u i32.and
				local.get $b local.get $lower i32.ne i32.and
				if
					local.get $out local.get $written i32.const 2 i32.shl i32.add local.get $b i32.store
					local.get $written i32.const 1 i32.add local.set $written
				end
				local.get $j i32.const 1 i32.add local.set $j
				br $next
			end
		end
		local.get $counts local.get $above v128.store
		local.get $counts local.get $atUpper v128.store offset=16
		local.get $counts local.get $atLower v128.store offset=32
		local.get $counts local.get $aboveTail i32.store offset=48
		local.get $counts local.get $upperTail i32.store offset=52
		local.get $counts local.get $lowerTail i32.store offset=56
		local.get $written
		`,
	};
}

export function magnitudeFunctions(): WasmFunction[] {
	return [
		...[true, false].flatMap((bf16) => [true, false].map((baseBf16) => taskVectorHistogramWasm(bf16, baseBf16))),
		encodeBf16Wasm(),
		decodeBf16Wasm(),
		countMagnitudeTiesWasm(),
		keepMagnitudeRanksWasm(),
		keepMagnitudeBetweenWasm(),
		magnitudeHistogramWasm(),
		magnitudeBandWasm(),
	];
}

/** encode-bf16 over [start, end). */
export function encodeBf16Simd(values: Float32Array, halves: Uint16Array, start: number, end: number): void {
	const module = simdModule();
	const kernel = module.exports.encode_bf16 as (...args: number[]) => void;
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const target = writeAt(halves, from, n, 1);
		kernel(readAt(module, values, from, n, 0), target, n);
		writeBack(module, target, 1, halves, from, n);
	}
}

/** decode-bf16 over [start, end). */
export function decodeBf16Simd(halves: Uint16Array, values: Float32Array, start: number, end: number): void {
	const module = simdModule();
	const kernel = module.exports.decode_bf16 as (...args: number[]) => void;
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const target = writeAt(values, from, n, 1);
		kernel(readAt(module, halves, from, n, 0), target, n);
		writeBack(module, target, 1, values, from, n);
	}
}

/**
 * magnitudeHistogramSimd's top buckets (`high` −1) of the task vector δ = round(x − b) of a bf16 merge over
 * [start, end), made in registers by task_vector_histogram instead of in a slot.
 */
export function taskVectorHistogramSimd(
	x: RangeArray,
	b: RangeArray,
	start: number,
	end: number,
	sums: Float64Array,
): void {
	const module = simdModule();
	const kernel = module.exports[
		`task_vector_histogram_${x instanceof Uint16Array ? "bf16" : "f32"}_${b instanceof Uint16Array ? "bf16" : "f32"}`
	] as (...args: number[]) => void;
	const histogram = histogramAddress();
	const counts = module.i32.subarray(histogram / 4, histogram / 4 + TOP_BUCKETS);
	counts.fill(0);
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		kernel(readAt(module, x, from, n, 0), readAt(module, b, from, n, 1), histogram, n);
	}
	for (let k = 0; k < TOP_BUCKETS; k++) {
		sums[k] = (sums[k] as number) + (counts[k] as number);
	}
	// sums[TOP_BUCKETS] counts values with low bits set: a rounded δ has none.
}

/** Where a kernel reads float32 values [from, from + n): in place, or made or copied into a slot. */
export type BlockValues = (module: SimdModule, from: number, n: number) => number;

/** Reads `values` in place or copied into slot 0. */
const valuesOf =
	(values: Float32Array): BlockValues =>
	(module, from, n) =>
		readAt(module, values, from, n, 0);

/**
 * magnitudeBand over [start, end): adds the counts of magnitudes at or above `upper`, equal to it and, below it, equal
 * to `lower` to sums[0..2]; those strictly between are appended to `band` at the place `cursor[0]` reserves for them
 * (Atomics.add, shared by the threads), as far as it has room: the cursor past band's length says some did not fit.
 */
export function magnitudeBandSimd(
	values: Float32Array,
	edges: { from: number; lower: number; upper: number },
	band: Uint32Array,
	cursor: Uint32Array,
	start: number,
	end: number,
	sums: Float64Array,
): void {
	const module = simdModule();
	const kernel = module.exports.magnitude_band as (...args: number[]) => number;
	const counts = module.i32.subarray(slot(2) / 4, slot(2) / 4 + 15);
	for (let at = start; at < end; at += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - at);
		const address = readAt(module, values, at, n, 0);
		const written = kernel(address, n, edges.from, edges.lower, edges.upper, slot(1), slot(2));
		for (let k = 0; k < 3; k++) {
			sums[k] = (sums[k] as number) + laneTotal(counts, k) + (counts[12 + k] as number);
		}
		const place = Atomics.add(cursor, 0, written);
		if (place + written <= band.length) {
			band.set(module.i32.subarray(slot(1) / 4, slot(1) / 4 + written), place);
		}
	}
}

/** countMagnitudeTies over [from, to): the counts [upper, lower]. */
export function countMagnitudeTiesSimd(
	values: Float32Array | BlockValues,
	upperBits: number,
	lowerBits: number,
	from: number,
	to: number,
): [number, number] {
	const module = simdModule();
	const kernel = module.exports.count_magnitude_ties as (...args: number[]) => void;
	const block = typeof values === "function" ? values : valuesOf(values);
	let upper = 0;
	let lower = 0;
	const counts = module.i32.subarray(slot(1) / 4, slot(1) / 4 + 8);
	for (let at = from; at < to; at += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, to - at);
		kernel(block(module, at, n), slot(1), n, upperBits, lowerBits);
		upper += laneTotal(counts, 0);
		lower += laneTotal(counts, 1);
		// The zeros that pad the last step to four lanes are counted where a boundary is 0: take them off.
		const padding = (4 - (n % 4)) % 4;
		upper -= upperBits === 0 ? padding : 0;
		lower -= lowerBits === 0 ? padding : 0;
	}
	return [upper, lower];
}

/** keepMagnitudeRanks' pass over [start, end), its ties decided by the index cuts. */
export function keepMagnitudeRanksSimd(
	values: Float32Array,
	upperBits: number,
	lowerBits: number,
	upperCut: number,
	lowerCut: number,
	start: number,
	end: number,
): void {
	const module = simdModule();
	const kernel = module.exports.keep_magnitude_ranks as (...args: number[]) => void;
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const target = writeAt(values, from, n, 1);
		kernel(readAt(module, values, from, n, 0), target, n, upperBits, lowerBits, from, upperCut, lowerCut);
		writeBack(module, target, 1, values, from, n);
	}
}

/**
 * magnitudeHistogram over [start, end): adds the 65536 counts into sums[0..65535], and with high −1 the number of
 * elements with low bits set into sums[TOP_BUCKETS].
 */
export function magnitudeHistogramSimd(
	values: Float32Array | BlockValues,
	high: number,
	start: number,
	end: number,
	sums: Float64Array,
): void {
	const module = simdModule();
	const kernel = module.exports.magnitude_histogram as (...args: number[]) => number;
	const block = typeof values === "function" ? values : valuesOf(values);
	const histogram = histogramAddress();
	const buckets = high < 0 ? TOP_BUCKETS : LOW_BUCKETS;
	const counts = module.i32.subarray(histogram / 4, histogram / 4 + buckets);
	counts.fill(0);
	let lowSet = 0;
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		lowSet += kernel(block(module, from, n), histogram, n, high);
	}
	for (let k = 0; k < buckets; k++) {
		sums[k] = (sums[k] as number) + (counts[k] as number);
	}
	if (high < 0) {
		sums[TOP_BUCKETS] = (sums[TOP_BUCKETS] as number) + lowSet;
	}
}
