import { resultOf, resultTarget } from "./bf16-result.js";
import { assertSameShapes } from "./check-shapes.js";
import { copyTensor } from "./copy-tensor.js";
import { multislerpInSimd } from "./kernels/multislerp-kernels.js";
import { runRange } from "./kernels/run-range.js";
import { HEAP_SCRATCH } from "./kernels/scratch.js";
import type { MultislerpPass } from "./kernels/simd/multislerp-simd.js";
import { SUM_BLOCK } from "./kernels/sum-block.js";
import type { MergeMethod, ParameterDef } from "./merge-method.js";
import { nonBaseModels } from "./non-base-models.js";
import { readBoolean, readNumber } from "./read-param.js";
import { storedInputs } from "./stored-inputs.js";

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
		// The inputs as stored (bf16 bits where all are), the base last: every pass makes the (task) vectors
		// xᵢ = Xᵢ − B again as it goes, rounded to float32 as the tensors would be.
		const stored = storedInputs(base ? [...models, base] : models);
		const n = (stored[0] as Float32Array | Uint16Array).length;
		// Per-block sums, added here block by block in order.
		const blocks = Math.ceil(n / SUM_BLOCK);
		const blockSums = scratch.f64(blocks * count);
		const run = (
			pass: MultislerpPass,
			target: Float32Array | Float64Array | Uint16Array,
			factor: number,
			scales: readonly number[] = weights,
		): void => {
			runRange(
				context,
				`multislerp-${pass}`,
				{ arrays: [target, ...stored], numbers: [base ? 1 : 0, factor, ...scales], align: SUM_BLOCK },
				n,
			);
		};
		const totals = (width: number): number[] =>
			Array.from({ length: width }, (_, index) => {
				let total = 0;
				for (let block = 0; block < blocks; block++) {
					total += blockSums[block * width + index] as number;
				}
				return total;
			});
		run("norms", blockSums, 0);
		const norms = totals(count).map(Math.sqrt);
		const unitScale = norms.map((norm, i) => (weights[i] as number) / (norm + eps));
		run("mean", blockSums, 0, unitScale);
		const meanNorm = Math.sqrt(totals(1)[0] as number);
		const out = multislerpInSimd(stored.slice(0, count), base ? stored[count] : undefined)
			? resultTarget(n, context)
			: scratch.f32Uninitialised(n);
		if (meanNorm < eps) {
			if (count !== 2) {
				throw new Error(
					`${where}: the weighted sum of the input directions is zero (antipodal inputs whose weights cancel out); try different weights`,
				);
			}
			const [w0, w1] = weights as [number, number];
			// The plain weighted mix of the two (task) vectors, made as it reads them.
			runRange(context, "pair-mix", { arrays: [out, ...stored], numbers: [w0, w1, ...(base ? [1] : [])] }, n);
			return resultOf(out, [...first.shape], context);
		}
		// The tangent r = Σ wᵢ (uᵢ − ⟨uᵢ, m̂⟩ m̂) = m − ⟨m, m̂⟩ m̂ is zero in exact arithmetic (m = Σ wᵢuᵢ), so
		// τ = ‖r‖ + eps is eps and the result m̂·cos τ + r·sin τ / τ is m̂·cos(eps): what mergekit's r holds is the
		// rounding of its own arithmetic. Measuring it took two more passes over the inputs for a difference below a
		// float32 unit. The finish multiplies m by one factor instead of dividing each element by ‖m‖.
		const scale = norms.reduce((sum, norm, i) => sum + norm * (weights[i] as number), 0);
		run("finish", out, (Math.cos(eps) * scale) / meanNorm, unitScale);
		return resultOf(out, [...first.shape], context);
	},
};
