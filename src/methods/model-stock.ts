import { resultOf, resultTarget } from "./bf16-result.js";
import { copyTensor } from "./copy-tensor.js";
import { type LaneLayout, laneLayout } from "./kernels/lane-layout.js";
import { modelStockInSimd, modelStockT } from "./kernels/model-stock-kernels.js";
import { runRange } from "./kernels/run-range.js";
import { HEAP_SCRATCH } from "./kernels/scratch.js";
import { SUM_BLOCK } from "./kernels/sum-block.js";
import {
	inputCount,
	type MergeContext,
	type MergeInputs,
	type MergeMethod,
	type MergeResult,
	type ModelTensor,
	type ParameterDef,
} from "./merge-method.js";
import { nonBaseModels } from "./non-base-models.js";
import type { Operands } from "./operands.js";
import { readBoolean } from "./read-param.js";
import { requireBase } from "./require-base.js";
import { storedInputs } from "./stored-inputs.js";

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
	blockSums: {
		// One lane, the whole tensor, with the base and two models or more.
		applies: (tensor) => !readBoolean(tensor.params, FILTER_WISE, "model_stock") && inputCount(tensor) >= 3,
		add(inputs, context, running) {
			const operands = modelStockOperands(inputs, context);
			if ("done" in operands) {
				throw new Error(`model_stock on ${context.tensorName}: a block of rows without the base and two models`);
			}
			return wholeTensorSums(storedInputs([operands.base, ...operands.models]), context, running);
		},
	},
	merge(inputs, context) {
		const operands = modelStockOperands(inputs, context);
		if ("done" in operands) {
			return operands.done;
		}
		const { base, models, lanes } = operands;
		const scratch = context.alloc ?? HEAP_SCRATCH;
		if (lanes.count > 1) {
			const n = base.data.length;
			const out = scratch.f32Uninitialised(n);
			runRange(
				context,
				"model-stock-lanes",
				{
					arrays: [out, base.data, ...models.map((tensor) => tensor.data)],
					numbers: [lanes.length, lanes.stride],
					elementsPerIndex: lanes.length * models.length,
				},
				lanes.count,
			);
			return { data: out, shape: [...base.shape] };
		}
		// One lane, the whole tensor, from the inputs as stored: its sums are shared out by block, then the mix
		// element by element.
		const stored = storedInputs([base, ...models]);
		const n = (stored[0] as Float32Array | Uint16Array).length;
		const totals = context.tensorSums ?? wholeTensorSums(stored, context);
		const t = modelStockT(totals.subarray(0, models.length), totals.subarray(models.length));
		const out = modelStockInSimd(stored) ? resultTarget(n, context) : scratch.f32Uninitialised(n);
		runRange(context, "model-stock-mix", { arrays: [out, ...stored], numbers: [t] }, n);
		return resultOf(out, [...base.shape], context);
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
	const n = base.bf16?.length ?? base.data.length;
	return { base, models, lanes: filterWise ? laneLayout(base.shape, -1) : laneLayout([n], 0) };
}

/**
 * ‖xᵢ − b‖² and then ⟨xᵢ − b, xₘ − b⟩ (i < m, in order) over the whole tensor in float64, from `inputs` [b, ...x]:
 * the model-stock-sums kernel sums each SUM_BLOCK across the threads, and the blocks are added here in order, so the
 * result does not depend on the number of threads. Added on to `running` where given: the sums of the rows before
 * these (see MergeMethod.blockSums).
 */
function wholeTensorSums(
	inputs: readonly (Float32Array | Uint16Array)[],
	context: Pick<MergeContext, "parallel" | "alloc">,
	running?: Float64Array,
): Float64Array {
	const count = inputs.length - 1;
	const n = (inputs[0] as Float32Array | Uint16Array).length;
	const quantities = count + (count * (count - 1)) / 2;
	const blocks = Math.ceil(n / SUM_BLOCK);
	const sums = (context.alloc ?? HEAP_SCRATCH).f64(quantities * blocks);
	runRange(context, "model-stock-sums", { arrays: [sums, ...inputs], numbers: [], align: SUM_BLOCK }, n);
	return Float64Array.from({ length: quantities }, (_, q) => {
		let total = running?.[q] ?? 0;
		for (let block = 0; block < blocks; block++) {
			total += sums[q * blocks + block] as number;
		}
		return total;
	});
}
