import { assertSameShapes } from "./check-shapes.js";
import { copyTensor } from "./copy-tensor.js";
import { pairSums } from "./kernels/pair-sums.js";
import { SUM_BLOCK } from "./kernels/range-kernels.js";
import { runRange } from "./kernels/run-range.js";
import { HEAP_SCRATCH } from "./kernels/scratch.js";
import type { MergeMethod, ParameterDef } from "./merge-method.js";
import { nonBaseModels } from "./non-base-models.js";
import { readBoolean, readNumber } from "./read-param.js";

const WEIGHT: ParameterDef = {
	name: "weight",
	scope: "per-model",
	type: "number",
	required: true,
	description: "This model's pull on the interpolated point.",
};

const NORMALIZE_WEIGHTS: ParameterDef = {
	name: "normalize_weights",
	scope: "global",
	type: "boolean",
	default: true,
	description: "Divide the weights by their sum, so they need not add up to 1.",
};

const EPS: ParameterDef = {
	name: "eps",
	scope: "global",
	type: "number",
	default: 1e-8,
	range: { min: 0, minExclusive: true },
	description: "A small constant that keeps the normalisations away from division by zero.",
};

/**
 * Barycentric interpolation on the hypersphere: each (task) vector is normalised, the weighted mean direction is
 * mapped through the tangent space and back, and the result is scaled by the weighted mean of the norms.
 */
export const multislerp: MergeMethod = {
	name: "multislerp",
	displayName: "Multi-SLERP",
	paperUrl: "https://goddard.blog/posts/multislerp-wow-what-a-cool-idea",
	explanation:
		"Generalises SLERP to any number of models: it averages the directions of the models' weights on a sphere " +
		"and keeps their typical size. With a base model it works on each model's change from the base.",
	parameters: [WEIGHT, NORMALIZE_WEIGHTS, EPS],
	baseRole: "optional-reference",
	requiresBase: false,
	modelCount: { min: 1, countsBase: false },
	shapePolicy: "strict",
	isRandomized: () => false,
	merge(inputs, context) {
		const where = `multislerp on ${context.tensorName}`;
		const { base } = inputs;
		const models = nonBaseModels(inputs);
		const first = models[0];
		if (!first) {
			if (base) {
				return copyTensor(base);
			}
			throw new Error(`${where}: no model has this tensor, so there is nothing to interpolate`);
		}
		if (models.length === 1) {
			return copyTensor(first);
		}
		assertSameShapes(where, base ? [...models, base] : models);
		const eps = readNumber(context.params, EPS, where);
		let weights = models.map((tensor) => readNumber(tensor.params, WEIGHT, `${where}, model ${tensor.model}`));
		if (readBoolean(context.params, NORMALIZE_WEIGHTS, where)) {
			const total = weights.reduce((sum, weight) => sum + weight, 0);
			if (total === 0) {
				throw new Error(
					`${where}: the weights sum to 0, so they cannot be normalized; change the weights or set normalize_weights: false`,
				);
			}
			weights = weights.map((weight) => weight / total);
		}
		const scratch = context.alloc ?? HEAP_SCRATCH;
		const count = models.length;
		const n = first.bf16?.length ?? first.data.length;
		// The (task) vectors xᵢ = Xᵢ − B, rounded to float32 as the tensors would be.
		const vectors = models.map((tensor) => {
			if (!base) {
				return tensor.data;
			}
			const x = scratch.f32Uninitialised(n);
			runRange(context, "task-vector", { arrays: [tensor.bf16 ?? tensor.data, base.data, x], numbers: [] }, n);
			return x;
		});
		const norms = vectors.map((x) => Math.sqrt(pairSums(x, x, n, context)[0]));
		const unitScale = norms.map((norm, i) => (weights[i] as number) / (norm + eps));
		// Per-block sums of squares and dot products, added here block by block in order.
		const blocks = Math.ceil(n / SUM_BLOCK);
		const blockSums = scratch.f64(blocks * count);
		const sumBlocks = (width: number, index = 0): number => {
			let total = 0;
			for (let block = 0; block < blocks; block++) {
				total += blockSums[block * width + index] as number;
			}
			return total;
		};
		const mean = scratch.f64(n);
		const sumArgs = { align: SUM_BLOCK };
		runRange(context, "multislerp-mean", { arrays: [mean, blockSums, ...vectors], numbers: unitScale, ...sumArgs }, n);
		const meanNorm = Math.sqrt(sumBlocks(1));
		const out = scratch.f32Uninitialised(n);
		if (meanNorm < eps) {
			if (count !== 2) {
				throw new Error(
					`${where}: the weighted sum of the input directions is zero (antipodal inputs whose weights cancel out); try different weights`,
				);
			}
			const [w0, w1] = weights as [number, number];
			runRange(
				context,
				"pair-mix",
				{
					arrays: [out, vectors[0] as Float32Array, vectors[1] as Float32Array, ...(base ? [base.data] : [])],
					numbers: [w0, w1],
				},
				n,
			);
			return { data: out, shape: [...first.shape] };
		}
		// Tangent-space projections ⟨uᵢ, m̂⟩ and their weighted sum r = Σ wᵢ (uᵢ − ⟨uᵢ, m̂⟩ m̂).
		runRange(context, "multislerp-dots", { arrays: [mean, blockSums, ...vectors], numbers: [meanNorm], ...sumArgs }, n);
		const dots = vectors.map((_, i) => sumBlocks(count, i) / ((norms[i] as number) + eps));
		const tangentWeight = dots.reduce((sum, d, i) => sum + (weights[i] as number) * d, 0);
		const tangent = scratch.f64(n);
		runRange(
			context,
			"multislerp-tangent",
			{ arrays: [tangent, blockSums, mean, ...vectors], numbers: [tangentWeight, ...unitScale], ...sumArgs },
			n,
		);
		const tau = Math.sqrt(sumBlocks(1)) + eps;
		const scale = norms.reduce((sum, norm, i) => sum + norm * (weights[i] as number), 0);
		const along = Math.cos(tau) * scale;
		const across = (Math.sin(tau) / tau) * scale;
		runRange(
			context,
			"multislerp-finish",
			{ arrays: [out, mean, tangent, ...(base ? [base.data] : [])], numbers: [along, across] },
			n,
		);
		return { data: out, shape: [...first.shape] };
	},
};
