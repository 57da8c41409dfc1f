import { kernelMemory } from "../../../engine/kernel-memory.js";
import { assembleWasm, type WasmFunction } from "../../../engine/wasm/assemble-wasm.js";
import { compileCached } from "../../../engine/wasm/compile-cached.js";
import {
	compileWasm,
	instantiateWasm,
	type WasmFunctions,
	type WasmModule,
} from "../../../engine/wasm/instantiate-wasm.js";
import { measureFunctions } from "../../../insight/measure-range-simd.js";
import type { RangeArray } from "../range-kernels.js";
import { dareFunctions } from "./dare-mask-simd.js";
import { dellaLaneWasm } from "./della-lane-wasm.js";
import { linearMixWasm } from "./linear-mix-simd.js";
import { magnitudeFunctions } from "./magnitude-simd.js";
import { modelStockFunctions } from "./model-stock-simd.js";
import { multislerpFunctions } from "./multislerp-simd.js";
import { pairFunctions } from "./pair-simd.js";
import { sceFunctions } from "./sce-simd.js";
import { taskArithmeticFunctions } from "./task-arithmetic-simd.js";

/**
 * The WebAssembly SIMD kernels: one module, assembled and instantiated once per thread on first use, over the
 * process's kernel memory. Arrays from the buffer pool lie in that memory, and the kernels work on them in place; other
 * arrays, and the ragged last block of a range, are copied block by block into this thread's slots and back.
 */

/**
 * Elements per block: a block of every slot (640 KiB in all) stays in the second-level cache, and the calls into the
 * kernels, with the JavaScript around them, are few.
 */
export const SIMD_BLOCK = 16384;
/** Bytes per slot: a block of float32 values, and room for the lanes a loop's last step reads past the end. */
const SLOT_BYTES = SIMD_BLOCK * 4 + 64;
const SLOTS = 10;
/** Bytes of each thread's scratch: its slots, then 65536 counts (the radix select's histogram). */
export const SIMD_SCRATCH_BYTES = SLOTS * SLOT_BYTES + 65536 * 4;
/** A kernel's loop steps over at most this many elements, so a block of a multiple of it is read and written whole. */
const LOOP_STEP = 8;

/** Every SIMD kernel's source, read when the module is first assembled (the kernels' files import this one). */
function functions(): WasmFunction[] {
	return [
		...[1, 2, 3].flatMap((count) =>
			[true, false].flatMap((bf16) => [linearMixWasm(count, bf16, false), linearMixWasm(count, bf16, true)]),
		),
		...taskArithmeticFunctions(),
		...magnitudeFunctions(),
		...dareFunctions(),
		dellaLaneWasm(false),
		dellaLaneWasm(true),
		...pairFunctions(),
		...sceFunctions(),
		...modelStockFunctions(),
		...multislerpFunctions(),
		...measureFunctions(),
	];
}

export interface SimdModule {
	exports: WasmFunctions;
	i32: Int32Array;
	u16: Uint16Array;
	f32: Float32Array;
	f64: Float64Array;
}

let loaded: SimdModule | undefined;
/** The byte address of this thread's scratch in kernel memory. */
let scratch = 0;
let enabled = process.env.MERGESMITH_KERNELS !== "js";

/** Whether range kernels use the SIMD kernels (MERGESMITH_KERNELS=js turns them off, to compare the two). */
export function simdEnabled(): boolean {
	return enabled;
}

/** Turns the SIMD kernels on or off on this thread (tests compare both paths bit for bit). */
export function setSimdEnabled(value: boolean): void {
	enabled = value;
}

let compiled: WasmModule | undefined;

/**
 * The SIMD kernels' compiled module: assembled (or read from the cache, see compileCached) and compiled on first use,
 * or the one this thread was given (a worker's, from the thread that started it).
 */
export function simdWasm(): WasmModule {
	compiled ??= compileCached(
		{ memory: { minPages: 1, maxPages: 65536 }, functions: functions() },
		assembleWasm,
		compileWasm,
	);
	return compiled;
}

/** Takes the compiled module another thread made (see simdWasm), so that this thread need not assemble it again. */
export function adoptSimdWasm(module: WasmModule): void {
	compiled = module;
}

export function simdModule(): SimdModule {
	if (loaded === undefined) {
		const memory = kernelMemory();
		scratch = memory.scratch(SIMD_SCRATCH_BYTES);
		const exports = instantiateWasm(simdWasm(), memory.memory);
		// Views of the buffer as it is now: they cover the scratch, which never moves.
		const buffer = memory.memory.buffer;
		loaded = {
			exports,
			i32: new Int32Array(buffer),
			u16: new Uint16Array(buffer),
			f32: new Float32Array(buffer),
			f64: new Float64Array(buffer),
		};
	}
	return loaded;
}

/** The byte address of slot `index` of this thread's scratch. */
export function slot(index: number): number {
	return scratch + index * SLOT_BYTES;
}

/** The byte address of this thread's 65536 histogram counts. */
export function histogramAddress(): number {
	return scratch + SLOTS * SLOT_BYTES;
}

/**
 * The byte address of element `from` of `array` where a kernel can work on elements [from, from + n) in place: the
 * array lies in kernel memory and the block ends on a loop step, so that no step reads or writes past it. Else −1.
 */
function inPlace(array: RangeArray, from: number, n: number): number {
	return n % LOOP_STEP === 0 && kernelMemory().holds(array) ? array.byteOffset + from * array.BYTES_PER_ELEMENT : -1;
}

/** Where a kernel reads elements [from, from + n) of `array`: in place, or copied into slot `index`. */
export function readAt(module: SimdModule, array: RangeArray, from: number, n: number, index: number): number {
	const address = inPlace(array, from, n);
	if (address >= 0) {
		return address;
	}
	copyIn(module, array, from, n, index);
	return slot(index);
}

/**
 * Where a kernel writes elements [from, from + n) of `array`: in place, or into slot `index`, which `writeBack`
 * then copies out.
 */
export function writeAt(array: RangeArray, from: number, n: number, index: number): number {
	const address = inPlace(array, from, n);
	return address >= 0 ? address : slot(index);
}

/** Copies a block a kernel wrote into slot `index` (see writeAt) out to `array`; nothing where it wrote in place. */
export function writeBack(
	module: SimdModule,
	address: number,
	index: number,
	array: Float32Array | Uint16Array,
	from: number,
	n: number,
): void {
	if (address === slot(index)) {
		copyOut(module, index, array, from, n);
	}
}

/**
 * Where a kernel reads float32 values [from, from + n) of `array`: as readAt for float32 values; bfloat16 bits are
 * decoded into slot `index`, read in place or first copied into slot `spare`.
 */
export function valuesAt(
	module: SimdModule,
	array: RangeArray,
	from: number,
	n: number,
	index: number,
	spare: number,
): number {
	if (!(array instanceof Uint16Array)) {
		return readAt(module, array, from, n, index);
	}
	const decode = module.exports.decode_bf16 as (halves: number, values: number, n: number) => void;
	decode(readAt(module, array, from, n, spare), slot(index), n);
	return slot(index);
}

/** A merge's result: float32 values, or the bfloat16 bit patterns it is written in (see MergeContext.bf16Output). */
export type ResultArray = Float32Array | Uint16Array;

/**
 * Copies elements [from, from + n) of `array` (float32 values or bfloat16 bits) into slot `index`, and zeros the
 * lanes after them up to the next eight: a loop's last step reads them, and zeros count as nothing.
 */
function copyIn(module: SimdModule, array: RangeArray, from: number, n: number, index: number): void {
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
function copyOut(module: SimdModule, index: number, array: Float32Array | Uint16Array, from: number, n: number): void {
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
