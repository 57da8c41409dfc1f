import { resultOf, resultTarget } from "./bf16-result.js";
import { assertSameShapes } from "./check-shapes.js";
import { copyTensor } from "./copy-tensor.js";
import { pairSums, tensorPairSums } from "./kernels/pair-sums.js";
import type { RangeArray } from "./kernels/range-kernels.js";
import { runRange } from "./kernels/run-range.js";
import {
	inputCount,
	type MergeContext,
	type MergeInputs,
	type MergeMethod,
	type ModelTensor,
	type ParameterDef,
} from "./merge-method.js";
import { nonBaseModels } from "./non-base-models.js";
import type { Operands } from "./operands.js";
import { readNumber } from "./read-param.js";
import { storedInputs } from "./stored-inputs.js";

const T: ParameterDef = {
	name: "t",
	scope: "global",
	type: "number",
	required: true,
	description: "Where to land between the base (t = 0) and the other model (t = 1); values outside [0, 1] extrapolate.",
};

/** Above this |cos θ| the two tensors count as colinear and are interpolated linearly. */
const DOT_THRESHOLD = 0.9995;
/** A vector is normalised only when its norm exceeds this. */
const NORM_EPS = 1e-8;

/**
 * Spherical interpolation of the whole tensor, seen as one vector, from the base (t = 0) to the other model (t = 1):
 * Y = sin((1−t)θ)/sin θ · B + sin(tθ)/sin θ · X, with θ the angle between them; nearly colinear inputs are lerped.
 */
export const slerp: MergeMethod = {
	name: "slerp",
	displayName: "SLERP",
	paperUrl: "https://en.wikipedia.org/wiki/Slerp",
	explanation:
		"Blends two models by moving along the arc between their weights instead of the straight line, " +
		"which keeps the size of the weights steadier than a plain average. t = 0 gives the base model, t = 1 the other one.",
	parameters: [T],
	baseRole: "reference",
	requiresBase: true,
	modelCount: { min: 2, max: 2, countsBase: true },
	shapePolicy: "common-submatrix",
	isRandomized: () => false,
	blockSums: {
		applies: (tensor) => inputCount(tensor) === 2,
		add(inputs, context, running) {
			const operands = slerpOperands(inputs, context);
			if ("done" in operands) {
				throw new Error(`slerp on ${context.tensorName}: a block of rows of a tensor that only one model has`);
			}
			const [v0, v1] = storedInputs([operands.base, operands.other]) as [RangeArray, RangeArray];
			return Float64Array.from(pairSums(v0, v1, v0.length, context, undefined, running));
		},
	},
	merge(inputs, context) {
		const operands = slerpOperands(inputs, context);
		if ("done" in operands) {
			return operands.done;
		}
		const { base, other, t } = operands;
		const [v0, v1] = storedInputs([base, other]) as [Float32Array | Uint16Array, Float32Array | Uint16Array];
		const n = v0.length;
		const [square0, square1, dotProduct] = tensorPairSums(v0, v1, n, context);
		const [s0, s1] = slerpCoefficients(Math.sqrt(square0), Math.sqrt(square1), dotProduct, t);
		const out = resultTarget(n, context);
		// The mix in float32 with the coefficients rounded to float32, as mergekit's NumPy multiplies float32 arrays by
		// float64 scalars: its float32 golden cases come out bit for bit.
		runRange(context, "pair-mix", { arrays: [out, v0, v1], numbers: [s0, s1] }, n);
		return resultOf(out, [...base.shape], context);
	},
};

/**
 * slerp's input checks and its parameter t, for the CPU kernel and the ONNX graph: the base and the other model, or
 * the lone input's copy when only one of them has the tensor.
 */
export function slerpOperands(
	inputs: MergeInputs,
	context: Pick<MergeContext, "tensorName" | "params">,
): Operands<{ base: ModelTensor; other: ModelTensor; t: number }> {
	const where = `slerp on ${context.tensorName}`;
	const models = nonBaseModels(inputs);
	const { base } = inputs;
	const other = models[0];
	if (!base || !other) {
		const only = base ?? other;
		if (only && models.length <= 1) {
			return { done: copyTensor(only) };
		}
		throw new Error(
			`${where}: slerp needs the base model's tensor and one other model's (got ${base ? "the base" : "no base"} and ${models.length} other)`,
		);
	}
	if (models.length !== 1) {
		throw new Error(
			`${where}: slerp merges exactly two models, the base and one other, but got ${models.length} besides the base; use multislerp or karcher for more`,
		);
	}
	assertSameShapes(where, [base, other]);
	return { base, other, t: readNumber(context.params, T, where) };
}

/**
 * The two coefficients of Y = s₀B + s₁X from the norms ‖B‖, ‖X‖ and the dot product ⟨B, X⟩: nearly colinear inputs
 * (|cos θ| above DOT_THRESHOLD) are lerped; norms at or below NORM_EPS are not divided by.
 */
export function slerpCoefficients(n0: number, n1: number, dotProduct: number, t: number): [number, number] {
	const cos = dotProduct / ((n0 > NORM_EPS ? n0 : 1) * (n1 > NORM_EPS ? n1 : 1));
	if (Math.abs(cos) > DOT_THRESHOLD) {
		return [1 - t, t];
	}
	const theta = Math.acos(cos);
	const sinTheta = Math.sin(theta);
	return [Math.sin(theta - theta * t) / sinTheta, Math.sin(theta * t) / sinTheta];
}
