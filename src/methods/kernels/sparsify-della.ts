import { l1Norm } from "./l1-norm.js";
import { laneLayout } from "./lane-layout.js";
import { rescaleL1 } from "./rescale-l1.js";
import { magnitudeSortScratch, sortByMagnitude } from "./sort-by-magnitude.js";

/**
 * DELLA's MAGPRUNE, in place: within each lane along dimension 1 (a 1-D tensor is one lane) elements are ranked
 * by |δ|, and the element of normalised rank r̂ ∈ [0, 1] survives with probability (density − ε) + 2ε·r̂,
 * i.e. iff uniform(index) < that probability. Equal magnitudes rank by position.
 */
export function sparsifyDella(
	delta: Float32Array,
	shape: readonly number[],
	density: number,
	epsilon: number,
	rescale: boolean,
	uniform: (index: number) => number,
	where: string,
): void {
	if (density >= 1) {
		return;
	}
	if (density <= 0) {
		delta.fill(0);
		return;
	}
	if (density + epsilon >= 1 || density - epsilon <= 0) {
		throw new Error(
			`${where}: epsilon ${epsilon} with density ${density} gives keep probabilities from ${density - epsilon} to ` +
				`${density + epsilon}, but both must lie strictly between 0 and 1; choose epsilon below ${Math.min(density, 1 - density)}`,
		);
	}
	const lanes = laneLayout(shape, shape.length < 2 ? -1 : 1);
	const { length, stride } = lanes;
	const before = rescale ? l1Norm(delta) : 0;
	const bits = new Uint32Array(delta.buffer, delta.byteOffset, delta.length);
	const low = density - epsilon;
	// A one-element lane has no spread of ranks (mergekit divides 0 by 0 there); give it the mean probability.
	const step = length > 1 ? (2 * epsilon) / (length - 1) : 0;
	const offset = length > 1 ? 0 : epsilon;
	const order = new Uint32Array(length);
	const scratch = magnitudeSortScratch(length);
	for (let lane = 0; lane < lanes.count; lane++) {
		const start = lanes.start(lane);
		sortByMagnitude(bits, start, stride, length, order, scratch);
		for (let r = 0; r < length; r++) {
			const index = start + (order[r] as number) * stride;
			if (!(uniform(index) < low + offset + r * step)) {
				delta[index] = 0;
			}
		}
	}
	if (rescale) {
		rescaleL1(delta, before);
	}
}
