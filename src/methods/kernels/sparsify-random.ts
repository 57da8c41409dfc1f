import { rescaleL1 } from "./rescale-l1.js";

/**
 * DARE pruning, in place: element i survives iff uniform(i) < density, independently of the others;
 * the counter-based stream makes the mask depend only on the seed, tensor, model and index.
 */
export function sparsifyRandom(
	delta: Float32Array,
	density: number,
	rescale: boolean,
	uniform: (index: number) => number,
): void {
	if (density >= 1) {
		return;
	}
	let before = 0;
	const bits = new Uint32Array(delta.buffer, delta.byteOffset, delta.length);
	for (let i = 0; i < delta.length; i++) {
		before += Math.abs(delta[i] as number);
		// floor(u − density) is −1 exactly when u < density: the element survives; 0 zeroes it. No branch, since the
		// draw is unpredictable by design.
		const keep = -Math.floor(uniform(i) - density);
		bits[i] = (bits[i] as number) & -keep;
	}
	if (rescale) {
		rescaleL1(delta, before);
	}
}
