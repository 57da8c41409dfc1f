import { resultOf, resultTarget } from "./bf16-result.js";
import { runRange } from "./kernels/run-range.js";
import type { MergeContext, MergeInputs, MergeMethod, ModelTensor, ParameterDef } from "./merge-method.js";
import { nonBaseModels } from "./non-base-models.js";
import type { Operands } from "./operands.js";
import { readNumber } from "./read-param.js";
import { requireBaseAndOther } from "./require-base.js";
import { storedInputs } from "./stored-inputs.js";

const T: ParameterDef = {
	name: "t",
	scope: "global",
	type: "number",
	required: true,
	range: { min: 0, minExclusive: true },
	description: "Distance below which the other model's value is taken outright; farther values move only t towards it.",
};

/**
 * Per element, α = clamp(t / max(|B − X|, 1e-6), 0, 1) and Y = αX + (1 − α)B: where the base and the other model
 * already agree within t the other model's value is taken, elsewhere the base moves by at most t towards it.
 */
export const nearswap: MergeMethod = {
	name: "nearswap",
	displayName: "NearSwap",
	paperUrl: "https://huggingface.co/alchemonaut/QuartetAnemoi-70B-t0.0001",
	explanation:
		"Keeps the base model but swaps in the other model's weights wherever the two are already very close (within t); " +
		"where they differ more, the base moves only slightly towards the other model.",
	parameters: [T],
	baseRole: "reference",
	requiresBase: true,
	modelCount: { min: 1, max: 1, countsBase: false },
	shapePolicy: "strict",
	isRandomized: () => false,
	elementwise: true,
	merge(inputs, context) {
		const operands = nearswapOperands(inputs, context);
		if ("done" in operands) {
			return operands.done;
		}
		const { base, other, t } = operands;
		const [b, x] = storedInputs([base, other]) as [Float32Array | Uint16Array, Float32Array | Uint16Array];
		const out = resultTarget(b.length, context);
		runRange(context, "nearswap", { arrays: [out, b, x], numbers: [t] }, b.length);
		return resultOf(out, [...base.shape], context);
	},
};

/**
 * nearswap's input checks and its parameter t, for the CPU kernel and the ONNX graph: the base and the other model,
 * or the base's copy when no other model has the tensor.
 */
export function nearswapOperands(
	inputs: MergeInputs,
	context: Pick<MergeContext, "tensorName" | "params">,
): Operands<{ base: ModelTensor; other: ModelTensor; t: number }> {
	const where = `nearswap on ${context.tensorName}`;
	const others = nonBaseModels(inputs);
	// Checked before the shapes, as a count error is the more useful one.
	if (inputs.base && others.length > 1) {
		throw new Error(
			`${where}: nearswap expects exactly two models, one base and one other, but got ${others.length} besides the base`,
		);
	}
	const pair = requireBaseAndOther(inputs, where);
	return "done" in pair ? pair : { ...pair, t: readNumber(context.params, T, where) };
}
