import { l1Norm } from "./l1-norm.js";

/** mergekit skips the rescale when either norm is below this. */
const MIN_NORM = 1e-7;

/**
 * Scales a masked task vector, in place, back to the L1 norm `before` it had unmasked
 * (current mergekit's rescale: ‖δ‖₁ / ‖mask⊙δ‖₁, about 1/density in expectation).
 */
export function rescaleL1(masked: Float32Array, before: number): void {
	const after = l1Norm(masked);
	if (before < MIN_NORM || after < MIN_NORM) {
		return;
	}
	const factor = before / after;
	for (let i = 0; i < masked.length; i++) {
		masked[i] = (masked[i] as number) * factor;
	}
}
