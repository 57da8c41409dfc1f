import { HEAP_SCRATCH } from "../../methods/kernels/scratch.js";
import type { MergeContext, MergeResult } from "../../methods/merge-method.js";

/**
 * A graph's output as a merge result, copied into the executor's pooled memory: shared with its worker threads there,
 * so that the merge report's pass and the output encoding run in parallel as they do on CPU kernels' results.
 */
export function resultTensor(data: Float32Array, shape: readonly number[], context: MergeContext): MergeResult {
	const out = (context.alloc ?? HEAP_SCRATCH).f32(data.length);
	out.set(data);
	return { data: out, shape: [...shape] };
}
