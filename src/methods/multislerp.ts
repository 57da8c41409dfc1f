import { assertSameShapes } from "./check-shapes.js";
import { copyTensor } from "./copy-tensor.js";
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
		const n = first.data.length;
		const scratch = context.alloc ?? HEAP_SCRATCH;
		const count = models.length;
		// The (task) vectors xᵢ = Xᵢ − B, rounded to float32 as the tensors would be.
		const vectors = models.map((tensor) => {
			if (!base) {
				return tensor.data;
			}
			const x = scratch.f32(n);
			for (let j = 0; j < n; j++) {
				x[j] = (tensor.data[j] as number) - (base.data[j] as number);
			}
			return x;
		});
		const norms = vectors.map((x) => {
			let sum = 0;
			for (let j = 0; j < n; j++) {
				sum += (x[j] as number) ** 2;
			}
			return Math.sqrt(sum);
		});
		const unitScale = norms.map((norm, i) => (weights[i] as number) / (norm + eps));
		const mean = scratch.f64(n);
		let meanSquare = 0;
		for (let j = 0; j < n; j++) {
			let m = 0;
			for (let i = 0; i < count; i++) {
				m += (unitScale[i] as number) * ((vectors[i] as Float32Array)[j] as number);
			}
			mean[j] = m;
			meanSquare += m * m;
		}
		const meanNorm = Math.sqrt(meanSquare);
		const out = scratch.f32(n);
		if (meanNorm < eps) {
			if (count !== 2) {
				throw new Error(
					`${where}: the weighted sum of the input directions is zero (antipodal inputs whose weights cancel out); try different weights`,
				);
			}
			const [w0, w1] = weights as [number, number];
			const [x0, x1] = vectors as [Float32Array, Float32Array];
			for (let j = 0; j < n; j++) {
				out[j] = w0 * (x0[j] as number) + w1 * (x1[j] as number) + (base ? (base.data[j] as number) : 0);
			}
			return { data: out, shape: [...first.shape] };
		}
		for (let j = 0; j < n; j++) {
			mean[j] = (mean[j] as number) / meanNorm;
		}
		// Tangent-space projections ⟨uᵢ, m̂⟩ and their weighted sum r = Σ wᵢ (uᵢ − ⟨uᵢ, m̂⟩ m̂).
		const dots = vectors.map((x, i) => {
			let sum = 0;
			for (let j = 0; j < n; j++) {
				sum += (x[j] as number) * (mean[j] as number);
			}
			return sum / ((norms[i] as number) + eps);
		});
		const tangentWeight = dots.reduce((sum, d, i) => sum + (weights[i] as number) * d, 0);
		const tangent = scratch.f64(n);
		let tangentSquare = 0;
		for (let j = 0; j < n; j++) {
			let r = -tangentWeight * (mean[j] as number);
			for (let i = 0; i < count; i++) {
				r += (unitScale[i] as number) * ((vectors[i] as Float32Array)[j] as number);
			}
			tangent[j] = r;
			tangentSquare += r * r;
		}
		const tau = Math.sqrt(tangentSquare) + eps;
		const scale = norms.reduce((sum, norm, i) => sum + norm * (weights[i] as number), 0);
		const along = Math.cos(tau) * scale;
		const across = (Math.sin(tau) / tau) * scale;
		for (let j = 0; j < n; j++) {
			out[j] = along * (mean[j] as number) + across * (tangent[j] as number) + (base ? (base.data[j] as number) : 0);
		}
		return { data: out, shape: [...first.shape] };
	},
};
