import { kernelMemory } from "../../../engine/kernel-memory.js";
import type { WasmFunction } from "../../../engine/wasm/assemble-wasm.js";
import { histogramAddress, simdModule, slot } from "./simd-kernels.js";

/**
 * DELLA's MAGPRUNE on one lane of contiguous elements in WebAssembly (scalar: a radix sort and a rank-ordered pass do
 * not vectorise), bit-identical to dellaLanes in range-kernels.ts. It takes lanes whose values are bfloat16 ones (no
 * low 16 bits set, as the task vectors of a bf16 merge are): a magnitude's 15 bits and the element's position then
 * pack into one 32-bit key, and two stable byte passes sort by magnitude, equal ones by position.
 */

/** The longest lane it takes: two arrays of keys fill the histogram's 256 KiB. */
export const DELLA_LANE_MAX = 32768;

/** Pushes mixRound (src/methods/kernels/mix-round.ts) of the i32 on the stack, using local `x`. */
const MIX_ROUND = `
	local.tee $x local.get $x i32.const 16 i32.shr_u i32.xor i32.const 0x7feb352d i32.mul local.set $x
	local.get $x local.get $x i32.const 15 i32.shr_u i32.xor i32.const 0x846ca68b i32.mul local.set $x
	local.get $x local.get $x i32.const 16 i32.shr_u i32.xor`;

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
		;; Counts to starting places.
		i32.const 0 local.set $j
		i32.const 0 local.set $total
		block $summed loop $sum
			local.get $j i32.const 256 i32.ge_u br_if $summed
			local.get $counts local.get $j i32.const 2 i32.shl i32.add local.tee $at i32.load local.set $key
			local.get $at local.get $total i32.store
			local.get $total local.get $key i32.add local.set $total
			local.get $j i32.const 1 i32.add local.set $j
			br $sum
		end end
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

/**
 * `della_lane(values, length, first, low, offset, step, k0, k1, keys, swap, counts, norms)`: prunes the lane of
 * `length` float32 values at `values` (tensor indices from `first`) in place and stores its L1 norms before and after
 * at `norms` as two float64 values, each added in rank order. Returns 0, touching nothing, if a value has any of its
 * low 16 bits set.
 */
export function dellaLaneWasm(): WasmFunction {
	return {
		name: "della_lane",
		params: [
			["values", "i32"],
			["length", "i32"],
			["first", "i32"],
			["low", "f64"],
			["offset", "f64"],
			["step", "f64"],
			["k0", "i32"],
			["k1", "i32"],
			["keys", "i32"],
			["swap", "i32"],
			["counts", "i32"],
			["norms", "i32"],
		],
		result: "i32",
		locals: [
			["j", "i32"],
			["key", "i32"],
			["any", "i32"],
			["all", "i32"],
			["lowBits", "i32"],
			["at", "i32"],
			["total", "i32"],
			["place", "i32"],
			["from", "i32"],
			["to", "i32"],
			["index", "i32"],
			["x", "i32"],
			["before", "f64"],
			["after", "f64"],
		],
		body: `
		i32.const -1 local.set $all
		block $keyed loop $key
			local.get $j local.get $length i32.ge_u br_if $keyed
			local.get $values local.get $j i32.const 2 i32.shl i32.add i32.load local.tee $key
			i32.const 0xffff i32.and local.get $lowBits i32.or local.set $lowBits
			local.get $key i32.const 0x7fff0000 i32.and local.tee $key
			local.get $any i32.or local.set $any
			local.get $key local.get $all i32.and local.set $all
			local.get $keys local.get $j i32.const 2 i32.shl i32.add local.get $key local.get $j i32.or i32.store
			local.get $j i32.const 1 i32.add local.set $j
			br $key
		end end
		local.get $lowBits
		if
			i32.const 0 return
		end
		local.get $keys local.set $from
		local.get $swap local.set $to
		${radixPass(16)}
		${radixPass(24)}
		i32.const 0 local.set $j
		block $pruned loop $prune
			local.get $j local.get $length i32.ge_u br_if $pruned
			;; The element of rank j: its address, and its index in the tensor for the draw.
			local.get $values
			local.get $from local.get $j i32.const 2 i32.shl i32.add i32.load i32.const 0xffff i32.and local.tee $index
			i32.const 2 i32.shl i32.add local.set $at
			local.get $index local.get $first i32.add local.set $index
			local.get $at i32.load local.set $key
			local.get $before local.get $key f32.reinterpret_i32 f32.abs f64.promote_f32 f64.add local.set $before
			;; counterDraw(k0, k1, index), then kept iff draw / 2³² (exactly draw · 2⁻³²) < low + offset + rank · step.
			;; Kept or not is a coin flip, so no branch on it: the bits are masked.
			local.get $at
			local.get $key
			i32.const 0
			local.get $index local.get $k0 i32.xor ${MIX_ROUND}
			local.get $k1 i32.add ${MIX_ROUND}
			local.get $index i32.xor ${MIX_ROUND}
			f64.convert_i32_u f64.const 2.3283064365386963e-10 f64.mul
			local.get $low local.get $offset f64.add local.get $j f64.convert_i32_u local.get $step f64.mul f64.add
			f64.lt i32.sub i32.and local.tee $key
			i32.store
			local.get $after local.get $key f32.reinterpret_i32 f32.abs f64.promote_f32 f64.add local.set $after
			local.get $j i32.const 1 i32.add local.set $j
			br $prune
		end end
		local.get $norms local.get $before f64.store
		local.get $norms local.get $after f64.store offset=8
		i32.const 1
		`,
	};
}

/**
 * della-lanes on one lane of `length` contiguous elements from `first` when `delta` lies in kernel memory and the
 * lane is short enough; returns its norms [before, after], or undefined for the JavaScript kernel to prune it.
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
	const module = simdModule();
	const kernel = module.exports.della_lane as (...args: number[]) => number;
	const histogram = histogramAddress();
	const norms = slot(1);
	const done = kernel(
		delta.byteOffset + first * 4,
		length,
		first,
		probabilities.low,
		probabilities.offset,
		probabilities.step,
		keys.k0,
		keys.k1,
		histogram,
		histogram + DELLA_LANE_MAX * 4,
		slot(0),
		norms,
	);
	if (done === 0) {
		return undefined;
	}
	return [module.f64[norms / 8] as number, module.f64[norms / 8 + 1] as number];
}
