import { resultOf, resultTarget } from "./bf16-result.js";
import { assertSameShapes } from "./check-shapes.js";
import { copyTensor } from "./copy-tensor.js";
import { multislerpInSimd } from "./kernels/multislerp-kernels.js";
import { runRange } from "./kernels/run-range.js";
import { HEAP_SCRATCH } from "./kernels/scratch.js";
import { gramPairs, multislerpSums } from "./kernels/simd/multislerp-simd.js";
import { SUM_BLOCK } from "./kernels/sum-block.js";
import type { MergeContext, MergeInputs, MergeMethod, ModelTensor, ParameterDef } from "./merge-method.js";
import { nonBaseModels } from "./non-base-models.js";
import type { Operands } from "./operands.js";
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
	blockSums: {
		// Two models or more: fewer are copied.
		applies: (tensor) => tensor.models.length >= 2,
		// The (task) vectors' inner products, from which the norms and the mean direction's norm follow.
		add(inputs, context, running) {
			const operands = multislerpOperands(inputs, context);
			if ("done" in operands) {
				throw new Error(`multislerp on ${context.tensorName}: a block of rows of a tensor fewer than two models have`);
			}
			return operands.gram(running);
		},
	},
	merge(inputs, context) {
		const operands = multislerpOperands(inputs, context);
		if ("done" in operands) {
			return operands.done;
		}
		const { where, eps, weights, stored, n, count, base, shape, gram } = operands;
		const products = context.tensorSums ?? gram();
		const pairs = gramPairs(count);
		const norms = pairs.flatMap(([i, k], q) => (i === k ? [Math.sqrt(products[q] as number)] : []));
		// wᵢ / (‖xᵢ‖ + eps): the weights of the unit vectors in the mean direction m = Σ sᵢ·xᵢ.
		const unit = weights.map((weight, i) => weight / ((norms[i] as number) + eps));
		// ‖m‖² = Σᵢₖ sᵢ·sₖ·⟨xᵢ, xₖ⟩, each pair off the diagonal twice; rounding can take a vanishing one below 0.
		const meanSquare = pairs.reduce(
			(sum, [i, k], q) => sum + (i === k ? 1 : 2) * (unit[i] as number) * (unit[k] as number) * (products[q] as number),
			0,
		);
		const meanNorm = Math.sqrt(Math.max(0, meanSquare));
		const scratch = context.alloc ?? HEAP_SCRATCH;
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
			return resultOf(out, shape, context);
		}
		// The tangent r = Σ wᵢ (uᵢ − ⟨uᵢ, m̂⟩ m̂) = m − ⟨m, m̂⟩ m̂ is zero in exact arithmetic (m = Σ wᵢuᵢ), so
		// τ = ‖r‖ + eps is eps and the result m̂·cos τ + r·sin τ / τ is m̂·cos(eps): what mergekit's r holds is the
		// rounding of its own arithmetic. Measuring it took two more passes over the inputs for a difference below a
		// float32 unit. The finish multiplies m by one factor instead of dividing each element by ‖m‖.
		const scale = norms.reduce((sum, norm, i) => sum + norm * (weights[i] as number), 0);
		runRange(
			context,
			"multislerp-finish",
			{ arrays: [out, ...stored], numbers: [base ? 1 : 0, (Math.cos(eps) * scale) / meanNorm, ...unit] },
			n,
		);
		return resultOf(out, shape, context);
	},
};

interface MultislerpOperands {
	where: string;
	eps: number;
	/** Per model, normalized where normalize_weights says. */
	weights: number[];
	stored: (Float32Array | Uint16Array)[];
	n: number;
	count: number;
	base: ModelTensor | undefined;
	shape: number[];
	/** The gram pass's inner products, on to `running` where given (the blocks of rows before). */
	gram(running?: Float64Array): Float64Array;
}

/**
 * multislerp's inputs and parameters for one tensor (or block of rows), with its pass over the sums: the inputs as
 * stored (bf16 bits where all are), the base last; `gram` adds the gram pass's per-block float64 sums in block order,
 * on to `running` where given (the blocks of rows before). Or the copy where fewer than two models have the tensor.
 */
function multislerpOperands(inputs: MergeInputs, context: MergeContext): Operands<MultislerpOperands> {
	const where = `multislerp on ${context.tensorName}`;
	const { base } = inputs;
	const models = nonBaseModels(inputs);
	const first = models[0];
	if (!first) {
		if (base) {
			return { done: copyTensor(base) };
		}
		throw new Error(`${where}: no model has this tensor, so there is nothing to interpolate`);
	}
	if (models.length === 1) {
		return { done: copyTensor(first) };
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
	const count = models.length;
	// Every pass makes the (task) vectors xᵢ = Xᵢ − B again as it goes, rounded to float32 as the tensors would be.
	const stored = storedInputs(base ? [...models, base] : models);
	const n = (stored[0] as Float32Array | Uint16Array).length;
	const blocks = Math.ceil(n / SUM_BLOCK);
	const gram = (running?: Float64Array): Float64Array => {
		const width = multislerpSums("gram", count);
		const blockSums = (context.alloc ?? HEAP_SCRATCH).f64(blocks * width);
		runRange(
			context,
			"multislerp-gram",
			{ arrays: [blockSums, ...stored], numbers: [base ? 1 : 0, 0, ...weights], align: SUM_BLOCK },
			n,
		);
		return Float64Array.from({ length: width }, (_, index) => {
			let total = running?.[index] ?? 0;
			for (let block = 0; block < blocks; block++) {
				total += blockSums[block * width + index] as number;
			}
			return total;
		});
	};
	return { where, eps, weights, stored, n, count, base, shape: [...first.shape], gram };
}
