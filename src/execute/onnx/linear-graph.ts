import { assertSameShapes } from "../../methods/check-shapes.js";
import { dtypeRounder } from "../../methods/kernels/dtype-rounder.js";
import type { ParameterDef } from "../../methods/merge-method.js";
import { readBoolean, readNumber } from "../../methods/read-param.js";
import type { Value } from "./graph-builder.js";
import type { GraphFeed, MethodGraph } from "./method-graph.js";
import { resultTensor } from "./result-tensor.js";
import { wideScalar } from "./wide-scalar.js";

/**
 * linear (src/methods/linear.ts): Y = Σ wᵢXᵢ / divisor. Float32 merges sum the products in float64 and store once;
 * bf16/fp16 merges round each product, the sum and the quotient, as the linear-mix kernel does.
 */
export const linearGraph: MethodGraph = {
	async merge(method, { models }, context, runner) {
		const where = `linear on ${context.tensorName}`;
		const first = models[0];
		if (!first) {
			throw new Error(`${where}: no model has this tensor, so there is nothing to average`);
		}
		assertSameShapes(where, models);
		const def = (name: string): ParameterDef => method.parameters.find((p) => p.name === name) as ParameterDef;
		const weights = models.map((tensor) => {
			if (tensor.params.weight === undefined) {
				throw new Error(
					`${where}: model ${tensor.model} has no weight; in linear every input, the base model included, needs a weight (list the base under models with a weight, or drop base_model)`,
				);
			}
			return readNumber(tensor.params, def("weight"), `${where}, model ${tensor.model}`);
		});
		const normalize = readBoolean(context.params, def("normalize"), where);
		const round = dtypeRounder(context.computeDtype);
		const ws = round ? weights.map(round) : weights;
		const sum = ws.reduce((total, weight) => total + weight, 0);
		const total = round ? round(sum) : sum;
		if (normalize && total === 0) {
			throw new Error(
				`${where}: the weights sum to 0, so normalizing would divide by zero; change the weights or set normalize: false`,
			);
		}
		const dtype = round ? context.computeDtype : undefined;
		const n = first.data.length;
		const feeds: Record<string, GraphFeed> = { divisor: wideScalar(runner, normalize ? total : 1) };
		models.forEach((tensor, i) => {
			feeds[`x${i}`] = { type: "float32", data: tensor.data, dims: [n] };
			feeds[`w${i}`] = wideScalar(runner, ws[i] as number);
		});
		const outputs = await runner.run(
			`linear:${models.length}:${dtype ?? "F32"}`,
			(g) => {
				const divisor = g.input("divisor", g.wide, []);
				let acc: Value = g.wideConstant(0);
				for (let i = 0; i < models.length; i++) {
					const product = g.mul(g.cast(g.input(`x${i}`, "float", ["n"]), g.wide), g.input(`w${i}`, g.wide, []));
					// Rounded merges store each product in float32 and round it; float32 ones keep it in float64.
					acc = g.add(acc, dtype ? g.cast(g.round(g.cast(product, "float"), dtype), g.wide) : product);
				}
				const mixed = dtype ? g.cast(g.round(g.cast(acc, "float"), dtype), g.wide) : acc;
				g.output("out", g.round(g.cast(g.div(mixed, divisor), "float"), dtype), ["n"]);
			},
			feeds,
		);
		return resultTensor(outputs.out as Float32Array, first.shape, context);
	},
};
