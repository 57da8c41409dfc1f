import { resultOf, resultTarget } from "./bf16-result.js";
import { assertSameShapes } from "./check-shapes.js";
import { copyTensor } from "./copy-tensor.js";
import { laneLayout } from "./kernels/lane-layout.js";
import { pairSums, tensorPairSums } from "./kernels/pair-sums.js";
import type { RangeArray } from "./kernels/range-kernels.js";
import { runRange } from "./kernels/run-range.js";
import { HEAP_SCRATCH } from "./kernels/scratch.js";
import { inputCount, type MergeMethod, type ModelTensor, type ParameterDef } from "./merge-method.js";
import { nonBaseModels } from "./non-base-models.js";
import { readBoolean, readNumber } from "./read-param.js";
import { storedInputs } from "./stored-inputs.js";

const WEIGHT: ParameterDef = {
	name: "weight",
	scope: "per-model",
	type: "number",
	required: true,
	description: "This model's share: t = w₂ / (w₁ + w₂) is how far the result moves towards the second model.",
};

const FLATTEN: ParameterDef = {
	name: "nuslerp_flatten",
	scope: "global",
	type: "boolean",
	default: true,
	description: "Treat the whole tensor as one vector; when false, interpolate row or column vectors separately.",
};

const ROW_WISE: ParameterDef = {
	name: "nuslerp_row_wise",
	scope: "global",
	type: "boolean",
	default: false,
	description:
		"Without flattening: interpolate the vectors along dimension 0 instead of those along the last dimension.",
};

/** Norms are clamped to at least this before normalising. */
const NORM_FLOOR = 1e-7;
/** Below this |sin θ| a vector pair counts as colinear and is lerped. */
const COLINEAR = 1e-8;

/**
 * SLERP between two models with t taken from their weights, over the whole tensor or over each row/column vector,
 * and, with a base model, between the task vectors Xᵢ − B (the base is then added back).
 */
export const nuslerp: MergeMethod = {
	name: "nuslerp",
	displayName: "NuSLERP",
	paperUrl: undefined,
	explanation:
		"Spherically interpolates between two models, with the mix set by their relative weights. " +
		"With a base model it interpolates the two models' changes from the base instead, and it can work row by row.",
	parameters: [WEIGHT, FLATTEN, ROW_WISE],
	baseRole: "optional-reference",
	requiresBase: false,
	modelCount: { min: 2, max: 2, countsBase: false },
	shapePolicy: "common-submatrix",
	isRandomized: () => false,
	blockSums: {
		// Flattened, two models and perhaps a base.
		applies: (tensor) =>
			readBoolean(tensor.params, FLATTEN, "nuslerp") && (inputCount(tensor) === 2 || inputCount(tensor) === 3),
		add(inputs, context, running) {
			const [first, second] = nonBaseModels(inputs);
			if (!first || !second) {
				throw new Error(`nuslerp on ${context.tensorName}: a block of rows without two models to merge`);
			}
			const [v0, v1, b] = flatVectors(first, second, inputs.base);
			return Float64Array.from(pairSums(v0, v1, v0.length, context, b, running));
		},
	},
	merge(inputs, context) {
		const where = `nuslerp on ${context.tensorName}`;
		const { base } = inputs;
		const models = nonBaseModels(inputs);
		// A lone input (an optional tensor that the other models lack) is returned unchanged.
		const single = models.length === 0 ? base : base ? undefined : models.length === 1 ? models[0] : undefined;
		if (single) {
			return copyTensor(single);
		}
		const [first, second] = models;
		if (models.length !== 2 || !first || !second) {
			throw new Error(
				base
					? `${where}: with a base model, nuslerp needs exactly two other models, got ${models.length}; the base model can not be one of the two models to merge`
					: `${where}: nuslerp merges exactly two models (plus an optional base model), got ${models.length}`,
			);
		}
		assertSameShapes(where, base ? [first, second, base] : [first, second]);
		const w1 = readNumber(first.params, WEIGHT, `${where}, model ${first.model}`);
		const w2 = readNumber(second.params, WEIGHT, `${where}, model ${second.model}`);
		const t = Math.abs(w1 + w2) < 1e-6 ? 0.5 : w2 / (w1 + w2);
		const flatten = readBoolean(context.params, FLATTEN, where);
		const rowWise = readBoolean(context.params, ROW_WISE, where);
		const scratch = context.alloc ?? HEAP_SCRATCH;
		if (flatten) {
			// The whole tensor as one vector, from the inputs as stored: the task vectors are made as the sums and the
			// mix read them, across the worker threads.
			const [v0, v1, b] = flatVectors(first, second, base);
			const n = v0.length;
			const [aa, bb, ab] = tensorPairSums(v0, v1, n, context, b);
			const [s0, s1] = nuslerpCoefficients(aa, bb, ab, t);
			const out = resultTarget(n, context);
			const arrays = [out, v0, v1, ...(b ? [b] : [])];
			runRange(context, "pair-mix", { arrays, numbers: [s0, s1, ...(b ? [1] : [])] }, n);
			return resultOf(out, [...first.shape], context);
		}
		// Lane by lane: the (task) vectors as float32 arrays.
		const n = first.bf16?.length ?? first.data.length;
		const vector = (tensor: ModelTensor): Float32Array => {
			if (!base) {
				return tensor.data;
			}
			const x = scratch.f32Uninitialised(n);
			runRange(context, "task-vector", { arrays: [tensor.bf16 ?? tensor.data, base.data, x], numbers: [] }, n);
			return x;
		};
		const a0 = vector(first);
		const a1 = vector(second);
		const out = scratch.f32Uninitialised(n);
		const lanes = laneLayout(first.shape, rowWise ? 0 : -1);
		const { length, stride } = lanes;
		for (let lane = 0; lane < lanes.count; lane++) {
			const start = lanes.start(lane);
			let aa = 0;
			let bb = 0;
			let ab = 0;
			for (let k = 0, j = start; k < length; k++, j += stride) {
				const a = a0[j] as number;
				const b = a1[j] as number;
				aa += a * a;
				bb += b * b;
				ab += a * b;
			}
			const [s0, s1] = nuslerpCoefficients(aa, bb, ab, t);
			for (let k = 0, j = start; k < length; k++, j += stride) {
				const mixed = s0 * (a0[j] as number) + s1 * (a1[j] as number);
				out[j] = base ? mixed + (base.data[j] as number) : mixed;
			}
		}
		return { data: out, shape: [...first.shape] };
	},
};

/** The two models' values and the base's, all as stored in bfloat16 or all as float32 values. */
function flatVectors(
	first: ModelTensor,
	second: ModelTensor,
	base: ModelTensor | undefined,
): [RangeArray, RangeArray, RangeArray?] {
	return storedInputs(base ? [first, second, base] : [first, second]) as [RangeArray, RangeArray, RangeArray?];
}

/** The coefficients of s₀a + s₁b from ‖a‖², ‖b‖² and ⟨a, b⟩; nearly colinear vectors are lerped. */
function nuslerpCoefficients(aa: number, bb: number, ab: number, t: number): [number, number] {
	const cos = ab / (Math.max(Math.sqrt(aa), NORM_FLOOR) * Math.max(Math.sqrt(bb), NORM_FLOOR));
	const theta = Math.acos(Math.min(1, Math.max(-1, cos)));
	const sinTheta = Math.sin(theta);
	if (Math.abs(sinTheta) < COLINEAR) {
		return [1 - t, t];
	}
	return [Math.sin((1 - t) * theta) / sinTheta, Math.sin(t * theta) / sinTheta];
}
