import { copyTensor } from "../../methods/copy-tensor.js";
import type { ParameterDef } from "../../methods/merge-method.js";
import { nonBaseModels } from "../../methods/non-base-models.js";
import { readNumber } from "../../methods/read-param.js";
import { requireBase } from "../../methods/require-base.js";
import type { MethodGraph } from "./method-graph.js";
import { resultTensor } from "./result-tensor.js";
import { wideScalar } from "./wide-scalar.js";

/**
 * nearswap (src/methods/nearswap.ts): α = clamp(t / max(|B − X|, 1e-6), 0, 1), Y = αX + (1 − α)B, in float64 as the
 * CPU kernel computes it, stored once.
 */
export const nearswapGraph: MethodGraph = {
	async merge(method, inputs, context, runner) {
		const where = `nearswap on ${context.tensorName}`;
		const others = nonBaseModels(inputs);
		if (inputs.base && others.length > 1) {
			throw new Error(
				`${where}: nearswap expects exactly two models, one base and one other, but got ${others.length} besides the base`,
			);
		}
		const {
			base,
			models: [other],
		} = requireBase(inputs, where);
		if (!other) {
			return copyTensor(base);
		}
		const t = readNumber(context.params, method.parameters.find((p) => p.name === "t") as ParameterDef, where);
		const n = base.data.length;
		const outputs = await runner.run(
			"nearswap",
			(g) => {
				const b = g.cast(g.input("base", "float", ["n"]), g.wide);
				const x = g.cast(g.input("other", "float", ["n"]), g.wide);
				const one = g.wideConstant(1);
				const distance = g.max(g.abs(g.sub(b, x)), g.wideConstant(1e-6));
				const alpha = g.min(one, g.max(g.wideConstant(0), g.div(g.input("t", g.wide, []), distance)));
				g.output("out", g.cast(g.add(g.mul(alpha, x), g.mul(g.sub(one, alpha), b)), "float"), ["n"]);
			},
			{
				base: { type: "float32", data: base.data, dims: [n] },
				other: { type: "float32", data: other.data, dims: [n] },
				t: wideScalar(runner, t),
			},
		);
		return resultTensor(outputs.out as Float32Array, base.shape, context);
	},
};
