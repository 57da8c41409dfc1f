import { assembleWasm, type WasmFunction } from "../../../engine/wasm/assemble-wasm.js";
import { instantiateWasm, type WasmInstance } from "../../../engine/wasm/instantiate-wasm.js";
import type { RangeArray } from "../range-kernels.js";
import { dareMaskWasm } from "./dare-mask-simd.js";
import { linearMixWasm } from "./linear-mix-simd.js";
import { magnitudeFunctions } from "./magnitude-simd.js";
import { pairFunctions } from "./pair-simd.js";
import { taskArithmeticFunctions } from "./task-arithmetic-simd.js";

/**
 * The WebAssembly SIMD kernels: one module, assembled and instantiated once per thread on first use. Its memory is
 * its own, so the range kernels copy a block of each input into a slot, call the kernel, and copy the outputs back
 * (plain memcpy, about 0.5 ns per float32 element here: as much as some kernels' arithmetic, and the next thing to
 * remove, by letting the buffer pool hand out the module's memory).
 */

/** Elements per block: a block of every slot stays in the second-level cache. */
export const SIMD_BLOCK = 4096;
/** Bytes per slot: a block of float32 values, and room for the lanes a loop's last step reads past the end. */
const SLOT_BYTES = SIMD_BLOCK * 4 + 64;
const SLOTS = 10;
/** The byte address of 65536 counts (the radix select's histograms), after the slots. */
export const HISTOGRAM_ADDRESS = SLOTS * SLOT_BYTES;
const MEMORY_BYTES = HISTOGRAM_ADDRESS + 65536 * 4;

/** Every SIMD kernel's source, read when the module is first assembled (the kernels' files import this one). */
function functions(): WasmFunction[] {
	return [
		...[1, 2, 3].flatMap((count) => [linearMixWasm(count, true), linearMixWasm(count, false)]),
		...taskArithmeticFunctions(),
		...magnitudeFunctions(),
		dareMaskWasm(),
		...pairFunctions(),
	];
}

interface SimdModule {
	exports: WasmInstance["functions"];
	i32: Int32Array;
	u16: Uint16Array;
	f32: Float32Array;
}

let loaded: SimdModule | undefined;
let enabled = process.env.MERGESMITH_KERNELS !== "js";

/** Whether range kernels use the SIMD kernels (MERGESMITH_KERNELS=js turns them off, to compare the two). */
export function simdEnabled(): boolean {
	return enabled;
}

/** Turns the SIMD kernels on or off on this thread (tests compare both paths bit for bit). */
export function setSimdEnabled(value: boolean): void {
	enabled = value;
}

export function simdModule(): SimdModule {
	if (loaded === undefined) {
		const pages = Math.ceil(MEMORY_BYTES / 65536);
		const { functions: exports, memory: buffer } = instantiateWasm(assembleWasm({ pages, functions: functions() }));
		loaded = {
			exports,
			i32: new Int32Array(buffer),
			u16: new Uint16Array(buffer),
			f32: new Float32Array(buffer),
		};
	}
	return loaded;
}

/** The byte address of slot `index` in the module's memory. */
export function slot(index: number): number {
	return index * SLOT_BYTES;
}

/**
 * Copies elements [from, from + n) of `array` (float32 values or bfloat16 bits) into slot `index`, and zeros the
 * lanes after them up to the next eight: a loop's last step reads them, and zeros count as nothing.
 */
export function copyIn(module: SimdModule, array: RangeArray, from: number, n: number, index: number): void {
	if (array instanceof Uint16Array) {
		const at = slot(index) / 2;
		module.u16.set(array.subarray(from, from + n), at);
		module.u16.fill(0, at + n, at + n + 8);
	} else if (array instanceof Float32Array) {
		const at = slot(index) / 4;
		module.f32.set(array.subarray(from, from + n), at);
		module.f32.fill(0, at + n, at + n + 8);
	} else {
		throw new Error("SIMD kernels take float32 values or bfloat16 bit patterns");
	}
}

/** Copies n values out of slot `index` (float32 values or bfloat16 bits, as `array` holds) into `array` at `from`. */
export function copyOut(
	module: SimdModule,
	index: number,
	array: Float32Array | Uint16Array,
	from: number,
	n: number,
): void {
	if (array instanceof Uint16Array) {
		const at = slot(index) / 2;
		array.set(module.u16.subarray(at, at + n), from);
	} else {
		const at = slot(index) / 4;
		array.set(module.f32.subarray(at, at + n), from);
	}
}

/**
 * The total of vector `index` of four lane values (counts or float64 sums a kernel stored) in `lanes`, added in lane
 * order, as the JavaScript kernels add their per-lane sums.
 */
export function laneTotal(lanes: Int32Array | Float64Array, index: number): number {
	const at = 4 * index;
	return (lanes[at] as number) + (lanes[at + 1] as number) + (lanes[at + 2] as number) + (lanes[at + 3] as number);
}
