import { linearOperands } from "../../methods/linear.js";
import type { Value } from "./graph-builder.js";
import type { GraphFeed, MethodGraph } from "./method-graph.js";
import { resultTensor } from "./result-tensor.js";
import { wideScalar } from "./wide-scalar.js";

/**
 * linear (src/methods/linear.ts): Y = Σ wᵢXᵢ / divisor. Float32 merges sum the products in float64 and store once;
 * bf16/fp16 merges round each product, add them to a float32 running sum and round it and the quotient, as the
 * linear-mix kernel does.
 */
export const linearGraph: MethodGraph = {
	async merge(_method, { models }, context, runner) {
		const { first, weights, divisor, dtype } = linearOperands(models, context);
		const n = first.data.length;
		const feeds: Record<string, GraphFeed> = { divisor: wideScalar(runner, divisor) };
		models.forEach((tensor, i) => {
			feeds[`x${i}`] = { type: "float32", data: tensor.data, dims: [n] };
			feeds[`w${i}`] = wideScalar(runner, weights[i] as number);
		});
		const outputs = await runner.run(
			`linear:${models.length}:${dtype ?? "F32"}`,
			(g) => {
				const divisorInput = g.input("divisor", g.wide, []);
				let acc: Value = dtype ? g.constant("float", 0) : g.wideConstant(0);
				for (let i = 0; i < models.length; i++) {
					const product = g.mul(g.cast(g.input(`x${i}`, "float", ["n"]), g.wide), g.input(`w${i}`, g.wide, []));
					// Rounded merges store each product in float32, round it and add it in float32; float32 ones keep it in
					// float64.
					acc = g.add(acc, dtype ? g.round(g.cast(product, "float"), dtype) : product);
				}
				const mixed = dtype ? g.cast(g.round(acc, dtype), g.wide) : acc;
				g.output("out", g.round(g.cast(g.div(mixed, divisorInput), "float"), dtype), ["n"]);
			},
			feeds,
		);
		return resultTensor(outputs.out as Float32Array, first.shape, context);
	},
};
