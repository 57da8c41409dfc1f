import type { MergeContext } from "../merge-method.js";
import { l1Norm } from "./l1-norm.js";
import { runRange } from "./run-range.js";

/** mergekit skips the rescale when either norm is below this. */
export const RESCALE_MIN_NORM = 1e-7;

/**
 * Scales a masked task vector, in place, back to the L1 norm `before` it had unmasked
 * (current mergekit's rescale: ‖δ‖₁ / ‖mask⊙δ‖₁, about 1/density in expectation).
 */
export function rescaleL1(masked: Float32Array, before: number): void {
	const factor = rescaleRatio([before, l1Norm(masked)]);
	if (factor === 0) {
		return;
	}
	for (let i = 0; i < masked.length; i++) {
		masked[i] = (masked[i] as number) * factor;
	}
}

/**
 * The same rescale from L1 norms added in `parts` parts (lanes or blocks): `norms` holds each part's norm before and
 * after masking, [before₀, after₀, before₁, …], added here in order so that the result does not depend on how the
 * parts were spread over the worker threads; the scaling runs there (the scale-and-count range kernel).
 */
export function rescaleL1ByParts(
	masked: Float32Array,
	norms: Float64Array,
	parts: number,
	context: Pick<MergeContext, "parallel">,
): void {
	const ratio = rescaleRatio(addPartNorms(norms.subarray(0, 2 * parts)));
	if (ratio === 0) {
		return;
	}
	runRange(context, "scale-and-count", { arrays: [masked], numbers: [ratio] }, masked.length, 1);
}

/**
 * The L1 norms before and after masking of parts (lanes or blocks), [before₀, after₀, before₁, …], added in order on
 * to `running` [before, after] (the parts before these, or none): the order that makes the rescale independent of the
 * threads, and of the blocks of rows a tensor is merged in.
 */
export function addPartNorms(norms: ArrayLike<number>, running: readonly [number, number] = [0, 0]): [number, number] {
	let [before, after] = running;
	for (let part = 0; 2 * part < norms.length; part++) {
		before += norms[2 * part] as number;
		after += norms[2 * part + 1] as number;
	}
	return [before, after];
}

/**
 * What the rescale scales the kept elements by, from the L1 norms [before, after]: 0 where it leaves them. The ratio
 * is rounded to float32, as mergekit's is to the tensors' dtype (a 0-dimensional tensor of it): each scaled element
 * is then a float32 product, which the SIMD kernels take four lanes at a time.
 */
export function rescaleRatio([before, after]: readonly [number, number]): number {
	return before < RESCALE_MIN_NORM || after < RESCALE_MIN_NORM ? 0 : Math.fround(before / after);
}
