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
	for (let i = 0; i < delta.length; i++) {
		before += Math.abs(delta[i] as number);
		if (!(uniform(i) < density)) {
			delta[i] = 0;
		}
	}
	if (rescale) {
		rescaleL1(delta, before);
	}
}
