import { assertSameShapes } from "../../methods/check-shapes.js";
import { copyTensor } from "../../methods/copy-tensor.js";
import type { ParameterDef } from "../../methods/merge-method.js";
import { nonBaseModels } from "../../methods/non-base-models.js";
import { readNumber } from "../../methods/read-param.js";
import type { MethodGraph } from "./method-graph.js";
import { resultTensor } from "./result-tensor.js";
import { wideScalar } from "./wide-scalar.js";

/** As slerp.ts: above this |cos θ| the tensors are lerped; norms at or below NORM_EPS are not divided by. */
const DOT_THRESHOLD = 0.9995;
const NORM_EPS = 1e-8;

/**
 * slerp (src/methods/slerp.ts) in two graphs: the first sums ‖B‖², ‖X‖² and ⟨B, X⟩ in float64; the angle and the two
 * coefficients are computed here from them, with the same Math calls as the CPU kernel; the second forms s₀B + s₁X.
 */
export const slerpGraph: MethodGraph = {
	async merge(method, inputs, context, runner) {
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
		const t = readNumber(context.params, method.parameters.find((p) => p.name === "t") as ParameterDef, where);
		const n = base.data.length;
		const tensors = {
			v0: { type: "float32", data: base.data, dims: [n] },
			v1: { type: "float32", data: other.data, dims: [n] },
		} as const;
		const sums = await runner.run(
			"slerp-sums",
			(g) => {
				const v0 = g.cast(g.input("v0", "float", ["n"]), g.wide);
				const v1 = g.cast(g.input("v1", "float", ["n"]), g.wide);
				g.output("square0", g.sum(g.mul(v0, v0)), []);
				g.output("square1", g.sum(g.mul(v1, v1)), []);
				g.output("dot", g.sum(g.mul(v0, v1)), []);
			},
			tensors,
		);
		const n0 = Math.sqrt(Number(sums.square0?.[0]));
		const n1 = Math.sqrt(Number(sums.square1?.[0]));
		const cos = Number(sums.dot?.[0]) / ((n0 > NORM_EPS ? n0 : 1) * (n1 > NORM_EPS ? n1 : 1));
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
		const outputs = await runner.run(
			"slerp-mix",
			(g) => {
				const v0 = g.cast(g.input("v0", "float", ["n"]), g.wide);
				const v1 = g.cast(g.input("v1", "float", ["n"]), g.wide);
				const mixed = g.add(g.mul(g.input("s0", g.wide, []), v0), g.mul(g.input("s1", g.wide, []), v1));
				g.output("out", g.cast(mixed, "float"), ["n"]);
			},
			{ ...tensors, s0: wideScalar(runner, s0), s1: wideScalar(runner, s1) },
		);
		return resultTensor(outputs.out as Float32Array, base.shape, context);
	},
};
