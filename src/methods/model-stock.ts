import { copyTensor } from "./copy-tensor.js";
import { type LaneLayout, laneLayout } from "./kernels/lane-layout.js";
import { HEAP_SCRATCH } from "./kernels/scratch.js";
import type { MergeContext, MergeInputs, MergeMethod, MergeResult, ModelTensor, ParameterDef } from "./merge-method.js";
import { nonBaseModels } from "./non-base-models.js";
import type { Operands } from "./operands.js";
import { readBoolean } from "./read-param.js";
import { requireBase } from "./require-base.js";

const FILTER_WISE: ParameterDef = {
	name: "filter_wise",
	scope: "global",
	type: "boolean",
	default: false,
	description: "Compute the interpolation ratio per row (along the last dimension) instead of once per tensor.",
};

/**
 * Model Stock: with offsets oᵢ = Xᵢ − B and cos the mean pairwise cosine between them,
 * t = N·cos / (1 + (N − 1)·cos) and Y = t·mean(Xᵢ) + (1 − t)·B, per tensor or per row.
 */
export const modelStock: MergeMethod = {
	name: "model_stock",
	displayName: "Model Stock",
	paperUrl: "https://arxiv.org/abs/2403.19522",
	explanation:
		"Averages several fine-tuned models and then pulls the average back towards the base model by an amount set by " +
		"how much the models agree (the angle between their changes). It needs a base and at least two other models.",
	parameters: [FILTER_WISE],
	baseRole: "reference",
	requiresBase: true,
	modelCount: { min: 2, countsBase: false },
	shapePolicy: "common-submatrix",
	isRandomized: () => false,
	merge(inputs, context) {
		const operands = modelStockOperands(inputs, context);
		if ("done" in operands) {
			return operands.done;
		}
		const { base, models, lanes } = operands;
		const n = base.data.length;
		const { length, stride } = lanes;
		const count = models.length;
		const b = base.data;
		const xs = models.map((tensor) => tensor.data);
		const norms = new Float64Array(count);
		const out = (context.alloc ?? HEAP_SCRATCH).f32(n);
		for (let lane = 0; lane < lanes.count; lane++) {
			const start = lanes.start(lane);
			for (let i = 0; i < count; i++) {
				const x = xs[i] as Float32Array;
				let sum = 0;
				for (let k = 0, j = start; k < length; k++, j += stride) {
					const o = (x[j] as number) - (b[j] as number);
					sum += o * o;
				}
				norms[i] = Math.sqrt(sum);
			}
			let cosSum = 0;
			let pairs = 0;
			for (let i = 0; i < count; i++) {
				const xi = xs[i] as Float32Array;
				for (let m = i + 1; m < count; m++) {
					const xm = xs[m] as Float32Array;
					let sum = 0;
					for (let k = 0, j = start; k < length; k++, j += stride) {
						sum += ((xi[j] as number) - (b[j] as number)) * ((xm[j] as number) - (b[j] as number));
					}
					const cos = sum / Math.max((norms[i] as number) * (norms[m] as number), 1e-6);
					cosSum += Math.min(1, Math.max(-1, cos));
					pairs++;
				}
			}
			const cos = cosSum / pairs;
			const t = (count * cos) / (1 + (count - 1) * cos);
			for (let k = 0, j = start; k < length; k++, j += stride) {
				let sum = 0;
				for (let i = 0; i < count; i++) {
					sum += (xs[i] as Float32Array)[j] as number;
				}
				out[j] = (t * sum) / count + (1 - t) * (b[j] as number);
			}
		}
		return { data: out, shape: [...base.shape] };
	},
};

/**
 * model_stock's input checks and its parameter filter_wise, for the CPU kernel and the ONNX graph: the base, the
 * other models and the lanes t is computed on (rows along the last axis with filter_wise, else the whole tensor as
 * one lane); or the base's copy when no other model has the tensor, or undefined (with a warning) for an optional
 * tensor too few models have.
 */
export function modelStockOperands(
	inputs: MergeInputs,
	context: Pick<MergeContext, "tensorName" | "params" | "warn">,
): Operands<{ base: ModelTensor; models: ModelTensor[]; lanes: LaneLayout }, MergeResult | undefined> {
	const where = `model_stock on ${context.tensorName}`;
	const others = nonBaseModels(inputs);
	if (inputs.base && others.length === 0) {
		return { done: copyTensor(inputs.base) };
	}
	const present = others.length + (inputs.base ? 1 : 0);
	if (present < 3) {
		// Only an optional tensor can have too few inputs here (the recipe itself has enough models), and mergekit drops it.
		context.warn(
			`${where}: only ${present} of the models have this optional tensor, but model_stock needs the base plus two others; leaving it out of the output`,
		);
		return { done: undefined };
	}
	const { base, models } = requireBase(inputs, where);
	const filterWise = readBoolean(context.params, FILTER_WISE, where);
	return { base, models, lanes: filterWise ? laneLayout(base.shape, -1) : laneLayout([base.data.length], 0) };
}
