import type { UniformStream } from "../../execute/counter-random.js";
import type { MergeContext } from "../merge-method.js";
import { type LaneLayout, laneLayout } from "./lane-layout.js";
import type { RangeArray } from "./range-kernels.js";
import { addPartNorms, rescaleL1ByParts, rescaleRatio } from "./rescale-l1.js";
import { runRange } from "./run-range.js";
import { HEAP_SCRATCH } from "./scratch.js";
import { DELLA_LANE_MAX } from "./simd/della-lane-wasm.js";

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

/**
 * Whether dellaMaskNorms takes a tensor of this shape: its lanes contiguous, no longer than the SIMD kernel takes, and
 * not sharing mask words between threads.
 */
export function dellaMasksAsBits(shape: readonly number[]): boolean {
	const { length, stride, count } = laneLayout(shape, shape.length < 2 ? -1 : 1);
	return stride === 1 && length <= DELLA_LANE_MAX && (length % 32 === 0 || count <= 1);
}

/**
 * sparsifyDella's mask of the task vector δ = round(x − b) of a bf16 merge (0 < density < 1), made a lane at a time
 * and never stored: the mask as bits (element i at bit i mod 32 of word i / 32), and the ratio the rescale scales the
 * kept elements by (0 where it leaves them as they are, or without `rescale`). Undefined where dellaMasksAsBits
 * says no.
 */
export function dellaMaskBits(
	x: RangeArray,
	b: RangeArray,
	shape: readonly number[],
	options: { density: number; epsilon: number; rescale: boolean; where: string },
	uniform: UniformStream,
	context: Pick<MergeContext, "parallel" | "alloc">,
): { words: Uint32Array; ratio: number } | undefined {
	if (!dellaMasksAsBits(shape)) {
		return undefined;
	}
	const words = (context.alloc ?? HEAP_SCRATCH).u32(Math.ceil(b.length / 32));
	const norms = dellaMaskNorms(x, b, shape, options, uniform, { words, offset: 0 }, context);
	return norms && { words, ratio: options.rescale ? rescaleRatio(addPartNorms(norms)) : 0 };
}

/**
 * dellaMaskBits' mask into `mask.words`, element j drawing as element `mask.offset` + j of the tensor (a block of
 * rows' first, or 0): returns each lane's L1 norms [before, after], or undefined where dellaMasksAsBits says no.
 */
export function dellaMaskNorms(
	x: RangeArray,
	b: RangeArray,
	shape: readonly number[],
	options: { density: number; epsilon: number; where: string },
	uniform: UniformStream,
	mask: { words: Uint32Array; offset: number },
	context: Pick<MergeContext, "parallel" | "alloc">,
): Float64Array | undefined {
	const { lanes, low, offset, step } = dellaRanks(shape, options.density, options.epsilon, options.where);
	if (!dellaMasksAsBits(shape)) {
		return undefined;
	}
	const { length, count } = lanes;
	const norms = (context.alloc ?? HEAP_SCRATCH).f64(2 * count);
	const [k0, k1] = uniform.keys;
	runRange(
		context,
		"task-vector-della-mask",
		{
			arrays: [x, b, norms, mask.words],
			numbers: [length, low, offset, step, k0, k1, mask.offset],
			elementsPerIndex: length,
		},
		count,
	);
	return norms;
}
