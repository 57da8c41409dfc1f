import type { FloatDtype } from "../safetensors/dtype.js";
import { resultOf, resultTarget } from "./bf16-result.js";
import { assertSameShapes } from "./check-shapes.js";
import { dtypeRounder } from "./kernels/dtype-rounder.js";
import { runRange } from "./kernels/run-range.js";
import { HEAP_SCRATCH } from "./kernels/scratch.js";
import type { MergeContext, MergeMethod, ModelTensor, ParameterDef } from "./merge-method.js";
import { readBoolean, readNumber } from "./read-param.js";
import { storedInputs } from "./stored-inputs.js";
import { weightSum } from "./weight-sum.js";

const WEIGHT: ParameterDef = {
	name: "weight",
	scope: "per-model",
	type: "number",
	required: true,
	description: "How much this model counts in the weighted average.",
};

const NORMALIZE: ParameterDef = {
	name: "normalize",
	scope: "global",
	type: "boolean",
	default: true,
	description: "Divide by the sum of the weights, so the weights need not add up to 1.",
};

/** Y = Σ wᵢXᵢ, divided by Σ wᵢ when normalize is on. The base, if any, is an ordinary weighted input. */
export const linear: MergeMethod = {
	name: "linear",
	displayName: "Linear",
	paperUrl: "https://arxiv.org/abs/2203.05482",
	explanation:
		"Takes a weighted average of the models' weights, element by element. " +
		"It is the simplest merge and works best for models fine-tuned from the same base.",
	parameters: [WEIGHT, NORMALIZE],
	baseRole: "input",
	requiresBase: false,
	modelCount: { min: 1, countsBase: true },
	shapePolicy: "common-submatrix",
	isRandomized: () => false,
	elementwise: true,
	merge({ models }, context) {
		const { first, weights, divisor, dtype } = linearOperands(models, context);
		// In a bf16 merge, bf16 inputs as stored: the bf16 kernel decodes as it goes.
		const datas = context.computeDtype === "BF16" ? storedInputs(models) : models.map((tensor) => tensor.data);
		const n = first.bf16?.length ?? first.data.length;
		// The SIMD kernel of a bf16 merge of up to three inputs writes the result as the tensor is stored.
		const out =
			dtype === "BF16" && datas.length <= 3
				? resultTarget(n, context)
				: (context.alloc ?? HEAP_SCRATCH).f32Uninitialised(n);
		// Without rounding the sum stays in float64 until the store; with it, each product, the sum and the quotient
		// are rounded as mergekit rounds them.
		runRange(context, "linear-mix", { arrays: [out, ...datas], numbers: [divisor, ...weights], dtype }, n);
		return resultOf(out, [...first.shape], context);
	},
};

/**
 * linear's input checks and parameters, for the CPU kernel and the ONNX graph: the first model (for the shape), the
 * weights and the divisor (Σ wᵢ with normalize, else 1), both rounded to the compute dtype in a bf16/fp16 merge, whose
 * dtype is then given (undefined in a float32 merge).
 */
export function linearOperands(
	models: readonly ModelTensor[],
	context: Pick<MergeContext, "tensorName" | "params" | "computeDtype">,
): { first: ModelTensor; weights: number[]; divisor: number; dtype: FloatDtype | undefined } {
	const where = `linear on ${context.tensorName}`;
	const first = models[0];
	if (!first) {
		throw new Error(`${where}: no model has this tensor, so there is nothing to average`);
	}
	assertSameShapes(where, models);
	const weights = models.map((tensor) => {
		if (tensor.params.weight === undefined) {
			throw new Error(
				`${where}: model ${tensor.model} has no weight; in linear every input, the base model included, needs a weight (list the base under models with a weight, or drop base_model)`,
			);
		}
		return readNumber(tensor.params, WEIGHT, `${where}, model ${tensor.model}`);
	});
	const normalize = readBoolean(context.params, NORMALIZE, where);
	// In a bf16/fp16 merge mergekit casts the weights to that dtype and rounds each product, sum and quotient.
	const round = dtypeRounder(context.computeDtype);
	const ws = round ? weights.map(round) : weights;
	const total = weightSum(ws, round);
	if (normalize && total === 0) {
		throw new Error(
			`${where}: the weights sum to 0, so normalizing would divide by zero; change the weights or set normalize: false`,
		);
	}
	return { first, weights: ws, divisor: normalize ? total : 1, dtype: round ? context.computeDtype : undefined };
}
