import { runRange } from "./kernels/run-range.js";
import { HEAP_SCRATCH } from "./kernels/scratch.js";
import { simdEnabled } from "./kernels/simd/simd-kernels.js";
import type { MergeContext, MergeResult } from "./merge-method.js";

/**
 * Where a method's SIMD kernels write its result of n values: the context's bfloat16 output, when there is one of that
 * length and the SIMD kernels run, else new float32 values.
 */
export function resultTarget(
	n: number,
	context: Pick<MergeContext, "bf16Output" | "alloc">,
): Float32Array | Uint16Array {
	const output = context.bf16Output;
	return output?.length === n && simdEnabled() ? output : (context.alloc ?? HEAP_SCRATCH).f32Uninitialised(n);
}

/** A result written into `target` (see resultTarget): as bfloat16 bits, with `data` decoded from them on first read. */
export function resultOf(
	target: Float32Array | Uint16Array,
	shape: readonly number[],
	context: Pick<MergeContext, "alloc" | "parallel">,
): MergeResult {
	if (target instanceof Float32Array) {
		return { data: target, shape };
	}
	let decoded: Float32Array | undefined;
	return {
		bf16: target,
		get data(): Float32Array {
			if (decoded === undefined) {
				decoded = (context.alloc ?? HEAP_SCRATCH).f32Uninitialised(target.length);
				runRange(context, "decode-bf16", { arrays: [target, decoded], numbers: [] }, target.length);
			}
			return decoded;
		},
		shape,
	};
}

/** `result` cast to bfloat16 into `halves` (rounding to nearest even), as a result written there. */
export function encodeResult(
	result: MergeResult,
	halves: Uint16Array,
	context: Pick<MergeContext, "alloc" | "parallel">,
): MergeResult {
	const data = result.data;
	runRange(context, "encode-bf16", { arrays: [data, halves], numbers: [] }, data.length);
	return resultOf(halves, result.shape, context);
}
