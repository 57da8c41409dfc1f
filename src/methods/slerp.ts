import { assertSameShapes } from "./check-shapes.js";
import { copyTensor } from "./copy-tensor.js";
import { dot } from "./kernels/dot.js";
import { l2Norm } from "./kernels/l2-norm.js";
import { HEAP_SCRATCH } from "./kernels/scratch.js";
import type { MergeMethod, ParameterDef } from "./merge-method.js";
import { nonBaseModels } from "./non-base-models.js";
import { readNumber } from "./read-param.js";

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
	merge(inputs, context) {
		const where = `slerp on ${context.tensorName}`;
		const models = nonBaseModels(inputs);
		const { base } = inputs;
		const other = models[0];
		if (!base || !other) {
			const only = base ?? other;
			if (only && models.length <= 1) {
				return copyTensor(only);
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
		const t = readNumber(context.params, T, where);
		const v0 = base.data;
		const v1 = other.data;
		const n0 = l2Norm(v0);
		const n1 = l2Norm(v1);
		const cos = dot(v0, v1) / ((n0 > NORM_EPS ? n0 : 1) * (n1 > NORM_EPS ? n1 : 1));
		let s0: number;
		let s1: number;
		if (Math.abs(cos) > DOT_THRESHOLD) {
			s0 = 1 - t;
			s1 = t;
		} else {
			const theta = Math.acos(cos);
			const sinTheta = Math.sin(theta);
			s0 = Math.sin(theta - theta * t) / sinTheta;
			s1 = Math.sin(theta * t) / sinTheta;
		}
		const out = (context.alloc ?? HEAP_SCRATCH).f32(v0.length);
		for (let j = 0; j < out.length; j++) {
			out[j] = s0 * (v0[j] as number) + s1 * (v1[j] as number);
		}
		return { data: out, shape: [...base.shape] };
	},
};
