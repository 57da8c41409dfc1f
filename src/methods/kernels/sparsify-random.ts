import type { UniformStream } from "../../execute/counter-random.js";
import type { MergeContext } from "../merge-method.js";
import { DARE_BLOCK } from "./range-kernels.js";
import { rescaleL1ByParts } from "./rescale-l1.js";
import { runRange } from "./run-range.js";
import { HEAP_SCRATCH } from "./scratch.js";

/**
 * DARE's keep threshold: element i survives iff its 16-bit draw (counterHalfDraw) is below ⌈density·2¹⁶⌉, with
 * probability density rounded up to a multiple of 2⁻¹⁶. At 2¹⁶, above any draw, the mask keeps every element.
 */
export function dareThreshold(density: number): number {
	return Math.ceil(Math.max(0, density) * 2 ** 16);
}

/** Whether a DARE threshold keeps every element, so that there is no mask to draw. */
export function dareKeepsAll(threshold: number): boolean {
	return threshold >= 2 ** 16;
}

/**
 * DARE pruning, in place: element i survives iff its draw is below dareThreshold(density), independently of the others;
 * the counter-based stream makes the mask depend only on the seed, tensor, model and index. With rescale, the kept
 * elements are scaled by ‖δ‖₁ / ‖mask⊙δ‖₁. The mask is drawn across the worker threads (the dare-mask range kernel);
 * the norms are added block by block in a fixed order, so the result does not depend on the number of threads.
 */
export function sparsifyRandom(
	delta: Float32Array,
	density: number,
	rescale: boolean,
	uniform: UniformStream,
	context: Pick<MergeContext, "parallel" | "alloc"> = {},
): void {
	const threshold = dareThreshold(density);
	if (dareKeepsAll(threshold)) {
		return;
	}
	const n = delta.length;
	const blocks = Math.ceil(n / DARE_BLOCK);
	const norms = (context.alloc ?? HEAP_SCRATCH).f64(2 * blocks);
	const [k0, k1] = uniform.keys;
	runRange(context, "dare-mask", { arrays: [delta, norms], numbers: [threshold, k0, k1], align: DARE_BLOCK }, n);
	if (rescale) {
		rescaleL1ByParts(delta, norms, blocks, context);
	}
}
