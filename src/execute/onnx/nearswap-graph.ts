import { nearswapOperands } from "../../methods/nearswap.js";
import { type MethodGraph, operandGraph } from "./method-graph.js";
import { resultTensor } from "./result-tensor.js";

/**
 * nearswap (src/methods/nearswap.ts): α = clamp((1 / max(|B − X|, 1e-6))·t, 0, 1), Y = αX + (1 − α)B, each operation
 * in float32 as the CPU kernel (and PyTorch) rounds it.
 */
export const nearswapGraph: MethodGraph = operandGraph(
	nearswapOperands,
	async ({ base, other, t }, context, runner) => {
		const n = base.data.length;
		const outputs = await runner.run(
			"nearswap",
			(g) => {
				const b = g.input("base", "float", ["n"]);
				const x = g.input("other", "float", ["n"]);
				const one = g.constant("float", 1);
				const distance = g.max(g.abs(g.sub(b, x)), g.constant("float", 1e-6));
				const scaled = g.mul(g.div(one, distance), g.input("t", "float", []));
				const alpha = g.min(one, g.max(g.constant("float", 0), scaled));
				g.output("out", g.add(g.mul(alpha, x), g.mul(g.sub(one, alpha), b)), ["n"]);
			},
			{
				base: { type: "float32", data: base.data, dims: [n] },
				other: { type: "float32", data: other.data, dims: [n] },
				t: { type: "float32", data: Float32Array.of(t), dims: [] },
			},
		);
		return resultTensor(outputs.out as Float32Array, base.shape, context);
	},
);
