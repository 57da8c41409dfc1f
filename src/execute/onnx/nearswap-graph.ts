import { nearswapOperands } from "../../methods/nearswap.js";
import { type MethodGraph, operandGraph } from "./method-graph.js";
import { resultTensor } from "./result-tensor.js";
import { wideScalar } from "./wide-scalar.js";

/**
 * nearswap (src/methods/nearswap.ts): α = clamp(t / max(|B − X|, 1e-6), 0, 1), Y = αX + (1 − α)B, in float64 as the
 * CPU kernel computes it, stored once.
 */
export const nearswapGraph: MethodGraph = operandGraph(
	nearswapOperands,
	async ({ base, other, t }, context, runner) => {
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
);
