/**
 * Where a kernel gets its working arrays. The executor passes one backed by its buffer pool, because on these
 * machines writing into freshly allocated memory is about a hundred times slower than into memory already touched;
 * without one, plain allocations. Arrays come zero-filled and stay valid until the executor has written the tensor.
 */
export interface ScratchAllocator {
	f32(length: number): Float32Array;
	/** Float32 values the caller overwrites whole before reading any: skips the zero fill. */
	f32Uninitialised(length: number): Float32Array;
	f64(length: number): Float64Array;
	/** 32-bit words, zero-filled (bit masks). */
	u32(length: number): Uint32Array;
	/** Gives an array back before the tensor is written, for later requests to reuse; it must not be used after. */
	free?(view: ArrayBufferView): void;
}

export const HEAP_SCRATCH: ScratchAllocator = {
	f32: (length) => new Float32Array(length),
	f32Uninitialised: (length) => new Float32Array(length),
	f64: (length) => new Float64Array(length),
	u32: (length) => new Uint32Array(length),
};
