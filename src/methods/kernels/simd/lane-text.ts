import type { WasmType } from "../../../engine/wasm/assemble-wasm.js";

/**
 * Pieces of WebAssembly text the SIMD kernels share. Four float32 lanes at a time; bfloat16 is handled on the bit
 * patterns, exactly as roundArray and encode-bf16 do it in JavaScript.
 */

/** The constants of bfloat16 rounding, held in locals that `ROUND_SETUP` fills once per call. */
export const ROUND_LOCALS: readonly (readonly [string, WasmType])[] = [
	["one", "v128"],
	["half", "v128"],
	["high", "v128"],
	["qnan", "v128"],
];

export const ROUND_SETUP = `
	i32.const 1 i32x4.splat local.set $one
	i32.const 0x7fff i32x4.splat local.set $half
	i32.const 0xffff0000 i32x4.splat local.set $high
	i32.const 0x7fc00000 i32x4.splat local.set $qnan
`;

/**
 * Rounds the float32 lanes of local `value` to bfloat16 (nearest, ties to even) and back, leaving the result on the
 * stack: `(b + 0x7fff + ((b >> 16) & 1)) & 0xffff0000`, and NaN becomes the canonical quiet NaN.
 */
export function roundBf16(value: string): string {
	return `
	local.get $${value}
	local.get $${value} i32.const 16 i32x4.shr_u local.get $one v128.and
	local.get $half i32x4.add i32x4.add local.get $high v128.and
	local.get $qnan
	local.get $${value} local.get $${value} f32x4.eq
	v128.bitselect`;
}

/**
 * roundBf16 without the NaN check, for lanes whose low 16 bits are zero wherever they hold NaN (products of bfloat16
 * values: a NaN there is an input's, quieted, or the default one). Rounding then keeps a NaN a NaN, with another
 * payload than the canonical one, and the kernel's later checked rounding of every value derived from it makes it the
 * canonical one, as the JavaScript kernels' rounding at each step does.
 */
export function roundBf16KeepingNaN(value: string): string {
	return `
	local.get $${value}
	local.get $${value} i32.const 16 i32x4.shr_u local.get $one v128.and
	local.get $half i32x4.add i32x4.add local.get $high v128.and`;
}

/** Pushes four lanes of input `pointer` at element `index` as float32: bfloat16 bit patterns or float32 values. */
export function loadLanes(pointer: string, index: string, bf16: boolean): string {
	return bf16
		? `local.get $${pointer} local.get $${index} i32.const 1 i32.shl i32.add v128.load16x4_u i32.const 16 i32x4.shl`
		: `local.get $${pointer} local.get $${index} i32.const 2 i32.shl i32.add v128.load`;
}

/**
 * Divides the lanes on the stack (float64, or float32 with `f32x4`) by the whole number `count` (local `divisor` holds
 * it in every lane): by a product with 1/count where count is a power of two, which rounds exactly as the quotient
 * does (both are x·2⁻ᵏ correctly rounded) at a fraction of a division's cost.
 */
export function divideLanesBy(count: number, divisor: string, shape: "f64x2" | "f32x4" = "f64x2"): string {
	const scalar = shape === "f64x2" ? "f64" : "f32";
	return Number.isInteger(Math.log2(count))
		? `${scalar}.const ${1 / count} ${shape}.splat ${shape}.mul`
		: `local.get $${divisor} ${shape}.div`;
}

/** A kernel's name for the variant that writes its result as bfloat16 bits where `bf16`. */
export function resultVariant(name: string, bf16: boolean): string {
	return bf16 ? `${name}_to_bf16` : name;
}

/** Pushes the address of float32 element `index` of array `pointer` (for a store). */
export function f32Address(pointer: string, index: string): string {
	return `local.get $${pointer} local.get $${index} i32.const 2 i32.shl i32.add`;
}

/**
 * A loop over elements [0, n), `step` at a time (four lanes, or eight for bfloat16 stores); `body` sees the element
 * index in local `j` (declare it an i32). Slots have room for the lanes past n of the last step.
 */
export function laneLoop(body: string, step = 4): string {
	return `
	block $done
		loop $next
			local.get $j local.get $n i32.ge_u br_if $done
			${body}
			local.get $j i32.const ${step} i32.add local.set $j
			br $next
		end
	end`;
}

/** The locals of bf16PairedLoop over arrays `inputs`: each one's eight halves, and the two halves' results. */
export function pairedLoopLocals(inputs: readonly string[]): (readonly [string, WasmType])[] {
	return [
		...inputs.map((input) => [`${input}Halves`, "v128"] as const),
		["evenBits", "v128"],
		["result", "v128"],
		...RESULT_LOOP_LOCALS,
	];
}

/**
 * A loop over elementwise work from bfloat16 inputs to a bfloat16 result, eight elements a step (see laneLoop; needs
 * ROUND_LOCALS, ROUND_SETUP and pairedLoopLocals): each input's eight halves are loaded at once and split into its
 * even elements (halves << 16) and its odd ones (halves & 0xffff0000); `lanes` pushes one half's four float32
 * results, given a function that pushes an input's lanes; both halves are rounded to bfloat16 (roundBf16, or taken
 * as they are where `rounded`) and stored with one store. It loads and joins with fewer instructions than resultLoop
 * (nearswap 0.97 ns an element against 1.01), but its lanes hold elements 0, 2, 4, 6 and 1, 3, 5, 7: only for work
 * whose lanes depend not on one another, and on their element's index only through `lanes`' second argument.
 */
export function bf16PairedLoop(
	inputs: readonly string[],
	out: string,
	lanes: (input: (name: string) => string, at: LanePositions) => string,
	rounded = false,
): string {
	const halves = (pointer: string): string => `local.get $${pointer} local.get $j i32.const 1 i32.shl i32.add`;
	return laneLoop(
		`
		${inputs.map((input) => `${halves(input)} v128.load local.set $${input}Halves`).join("\n")}
		${lanes((input) => `local.get $${input}Halves i32.const 16 i32x4.shl`, { index: "j", first: 0, stride: 2 })} local.set $result
		${rounded ? "local.get $result" : roundBf16("result")} i32.const 16 i32x4.shr_u local.set $evenBits
		${halves(out)}
		${lanes((input) => `local.get $${input}Halves local.get $high v128.and`, { index: "j", first: 1, stride: 2 })}
		local.set $result
		${rounded ? "local.get $result" : roundBf16("result")}
		local.get $evenBits v128.or v128.store`,
		8,
	);
}

/** The locals of resultLoop. */
export const RESULT_LOOP_LOCALS: readonly (readonly [string, WasmType])[] = [
	["j4", "i32"],
	["firstLanes", "v128"],
	["lastLanes", "v128"],
];

/**
 * A loop over elements [0, n) whose `step(index)` pushes the four float32 results of the lanes at element `index`,
 * stored into `out` as float32 values, or as bfloat16 bits where `bf16Out`: then eight a step, in element order, the
 * step run at local `j` and again at local `j4` (j + 4) and both halves rounded to bfloat16 (roundBf16, or taken as
 * they are where `rounded`) and narrowed into one store: a store of four took a shuffle, a lane extraction and a store
 * of its own (nearswap 1.35 → 1.01 ns an element). Needs ROUND_LOCALS (for bf16Out) and RESULT_LOOP_LOCALS.
 */
export function resultLoop(out: string, bf16Out: boolean, step: (index: string) => string, rounded = false): string {
	if (!bf16Out) {
		return laneLoop(`${step("j")} local.set $lastLanes ${f32Address(out, "j")} local.get $lastLanes v128.store`);
	}
	const bits = (lanes: string): string =>
		`${rounded ? `local.get $${lanes}` : roundBf16(lanes)} i32.const 16 i32x4.shr_u`;
	return laneLoop(
		`
		local.get $j i32.const 4 i32.add local.set $j4
		${step("j")} local.set $firstLanes
		${step("j4")} local.set $lastLanes
		local.get $${out} local.get $j i32.const 1 i32.shl i32.add
		${bits("firstLanes")} ${bits("lastLanes")} i16x8.narrow_i32x4_u v128.store`,
		8,
	);
}

/**
 * An elementwise kernel's loop: bf16PairedLoop where every input and the result are bfloat16, else resultLoop, each
 * input loaded as `bf16` says (of all inputs, or of each). Needs pairedLoopLocals, which include resultLoop's.
 */
export function elementwiseLoop(
	inputs: readonly string[],
	out: string,
	bf16: boolean | ((input: string) => boolean),
	bf16Out: boolean,
	lanes: (input: (name: string) => string, at: LanePositions) => string,
	rounded = false,
): string {
	const stored = typeof bf16 === "boolean" ? () => bf16 : bf16;
	if (bf16Out && inputs.every(stored)) {
		return bf16PairedLoop(inputs, out, lanes, rounded);
	}
	return resultLoop(
		out,
		bf16Out,
		(index) => lanes((input) => loadLanes(input, index, stored(input)), { index, first: 0, stride: 1 }),
		rounded,
	);
}

/**
 * Which elements a loop's four lanes hold: element `index + first + stride·k` in lane k, `index` a local (j or j4),
 * for work that depends on the element's index (a mask kept as bits, say).
 */
export interface LanePositions {
	index: string;
	first: 0 | 1;
	stride: 1 | 2;
}

/** Pushes local `value` with its lanes 2 and 3 moved to lanes 0 and 1 (for promotion to float64). */
export function highToLow(value: string): string {
	return `local.get $${value} local.get $${value} i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15`;
}
/** Joins the low halves of two vectors: lanes 0, 1 of the first, then lanes 0, 1 of the second. */
export const JOIN_LOW = "i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23";

/** One round of the counter generator's mixing (mixRound in mix-round.ts) on the four i32 lanes of local `x`. */
function mixRoundLanes(x: string): string {
	return `
	local.get $${x} local.get $${x} i32.const 16 i32x4.shr_u v128.xor local.get $m1 i32x4.mul local.set $${x}
	local.get $${x} local.get $${x} i32.const 15 i32x4.shr_u v128.xor local.get $m2 i32x4.mul local.set $${x}
	local.get $${x} local.get $${x} i32.const 16 i32x4.shr_u v128.xor local.set $${x}`;
}

/** The locals of counterDrawLanes: the mixing constants and the stream's keys, which COUNTER_DRAW_SETUP fills. */
export const COUNTER_DRAW_LOCALS: readonly (readonly [string, WasmType])[] = [
	["m1", "v128"],
	["m2", "v128"],
	["key0", "v128"],
	["key1", "v128"],
];

/** Fills COUNTER_DRAW_LOCALS once per call, from the stream's keys in i32 parameters `k0` and `k1`. */
export const COUNTER_DRAW_SETUP = `
	i32.const 0x7feb352d i32x4.splat local.set $m1
	i32.const 0x846ca68b i32x4.splat local.set $m2
	local.get $k0 i32x4.splat local.set $key0
	local.get $k1 i32x4.splat local.set $key1
`;

/**
 * counterHalfDraw's 32-bit words (counter-random.ts) for the four pair indices in local `pairs`, left in local
 * `result`: two rounds of mixing keyed by the stream's keys (see COUNTER_DRAW_LOCALS and COUNTER_DRAW_SETUP). Read as
 * eight 16-bit lanes, they are the draws of elements 2·pairs[0] to 2·pairs[3] + 1 in order.
 */
export function halfDrawLanes(pairs: string, result: string): string {
	return `
	local.get $${pairs} local.get $key0 v128.xor local.set $${result}
	${mixRoundLanes(result)}
	local.get $${result} local.get $key1 i32x4.add local.set $${result}
	${mixRoundLanes(result)}`;
}

/**
 * counterDraw (counter-random.ts) for the four element indices in local `index`, left in local `result`: the two
 * keyed rounds of halfDrawLanes on the indices themselves, then a third round after the index is mixed in again.
 */
export function counterDrawLanes(index: string, result: string): string {
	return `
	${halfDrawLanes(index, result)}
	local.get $${result} local.get $${index} v128.xor local.set $${result}
	${mixRoundLanes(result)}`;
}
