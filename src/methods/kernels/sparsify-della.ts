import type { UniformStream } from "../../execute/counter-random.js";
import type { MergeContext } from "../merge-method.js";
import { type LaneLayout, laneLayout } from "./lane-layout.js";
import { rescaleL1ByParts } from "./rescale-l1.js";
import { runRange } from "./run-range.js";
import { HEAP_SCRATCH } from "./scratch.js";

/**
 * DELLA's MAGPRUNE, in place: within each lane along dimension 1 (a 1-D tensor is one lane) elements are ranked
 * by |δ|, and the element of normalised rank r̂ ∈ [0, 1] survives with probability (density − ε) + 2ε·r̂,
 * i.e. iff uniform(index) < that probability. Equal magnitudes rank by position. Lanes are pruned across the worker
 * threads (the della-lanes range kernel); the rescale's L1 norms are added lane by lane in order, so the result
 * does not depend on the number of threads.
 */
export function sparsifyDella(
	delta: Float32Array,
	shape: readonly number[],
	density: number,
	epsilon: number,
	rescale: boolean,
	uniform: UniformStream,
	where: string,
	context: Pick<MergeContext, "parallel" | "alloc"> = {},
): void {
	if (density >= 1) {
		return;
	}
	if (density <= 0) {
		delta.fill(0);
		return;
	}
	const { lanes, low, offset, step } = dellaRanks(shape, density, epsilon, where);
	const { length, stride, count } = lanes;
	const norms = (context.alloc ?? HEAP_SCRATCH).f64(2 * count);
	const [k0, k1] = uniform.keys;
	runRange(
		context,
		"della-lanes",
		{ arrays: [delta, norms], numbers: [length, stride, low, offset, step, k0, k1], elementsPerIndex: length },
		count,
	);
	if (rescale) {
		rescaleL1ByParts(delta, norms, count, context);
	}
}

/**
 * MAGPRUNE's lanes (along dimension 1; a 1-D tensor is one lane) and keep probabilities for 0 < density < 1: rank r of
 * a lane survives with probability low + offset + r·step. Throws unless every probability lies strictly between 0
 * and 1.
 */
export function dellaRanks(
	shape: readonly number[],
	density: number,
	epsilon: number,
	where: string,
): { lanes: LaneLayout; low: number; offset: number; step: number } {
	if (density + epsilon >= 1 || density - epsilon <= 0) {
		throw new Error(
			`${where}: epsilon ${epsilon} with density ${density} gives keep probabilities from ${density - epsilon} to ` +
				`${density + epsilon}, but both must lie strictly between 0 and 1; choose epsilon below ${Math.min(density, 1 - density)}`,
		);
	}
	const lanes = laneLayout(shape, shape.length < 2 ? -1 : 1);
	const { length } = lanes;
	// A one-element lane has no spread of ranks (mergekit divides 0 by 0 there); give it the mean probability.
	const step = length > 1 ? (2 * epsilon) / (length - 1) : 0;
	const offset = length > 1 ? 0 : epsilon;
	return { lanes, low: density - epsilon, offset, step };
}
