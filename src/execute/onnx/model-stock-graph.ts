import { SUM_BLOCK } from "../../methods/kernels/sum-block.js";
import { modelStockOperands } from "../../methods/model-stock.js";
import type { GraphBuilder, Value } from "./graph-builder.js";
import { type MethodGraph, operandGraph } from "./method-graph.js";
import { resultTensor } from "./result-tensor.js";

/**
 * model_stock (src/methods/model-stock.ts), lane by lane (rows along the last axis with filter_wise, else the whole
 * tensor as one lane, summed per block), as the kernels compute it: in float64 the offsets oᵢ = Xᵢ − B, their norms
 * and the mean pairwise cosine (each clamped to [−1, 1]) and t = N·cos / (1 + (N − 1)·cos); in float32, with t
 * rounded to it, Y = t·(ΣXᵢ/N) + (1 − t)·B.
 */
export const modelStockGraph: MethodGraph = operandGraph(
	modelStockOperands,
	async ({ base, models, lanes }, context, runner) => {
		const feeds = {
			base: { type: "float32", data: base.data, dims: [lanes.count, lanes.length] },
			...Object.fromEntries(
				models.map((tensor, i) => [
					`x${i}`,
					{ type: "float32", data: tensor.data, dims: [lanes.count, lanes.length] } as const,
				]),
			),
		} as const;
		const whole = lanes.count === 1;
		const outputs = await runner.run(
			`model_stock:${models.length}:${whole ? "whole" : "lanes"}`,
			(g) => buildModelStock(g, models.length, whole),
			feeds,
		);
		return resultTensor(outputs.out as Float32Array, base.shape, context);
	},
);

function buildModelStock(g: GraphBuilder, count: number, whole: boolean): void {
	// Lanes are rows here, [lanes, length]; laneTotals wants [outer, length, stride]. One whole-tensor lane is summed
	// per SUM_BLOCK, as the kernel's threads sum it.
	const rows = g.constant("int64", [0, -1, 1], [3]);
	const flat = g.constant("int64", [-1], [1]);
	const total = (a: Value): Value => (whole ? g.sum(g.reshape(a, flat), SUM_BLOCK) : g.laneTotals(g.reshape(a, rows)));
	const baseFloat = g.input("base", "float", ["lanes", "length"]);
	const b = g.cast(baseFloat, g.wide);
	const xsFloat = Array.from({ length: count }, (_, i) => g.input(`x${i}`, "float", ["lanes", "length"]));
	const xs = xsFloat.map((x) => g.cast(x, g.wide));
	const offsets = xs.map((x) => g.sub(x, b));
	const norms = offsets.map((o) => g.sqrt(total(g.mul(o, o))));
	const one = g.wideConstant(1);
	let cosSum = g.wideConstant(0);
	let pairs = 0;
	for (let i = 0; i < count; i++) {
		for (let m = i + 1; m < count; m++) {
			const dot = total(g.mul(offsets[i] as Value, offsets[m] as Value));
			const cos = g.div(dot, g.max(g.mul(norms[i] as Value, norms[m] as Value), g.wideConstant(1e-6)));
			cosSum = g.add(cosSum, g.min(one, g.max(g.wideConstant(-1), cos)));
			pairs++;
		}
	}
	const cos = g.div(cosSum, g.wideConstant(pairs));
	const n = g.wideConstant(count);
	const t = g.div(g.mul(n, cos), g.add(one, g.mul(g.wideConstant(count - 1), cos)));
	const t32 = g.cast(t, "float");
	let sum = g.constant("float", 0);
	for (const x of xsFloat) {
		sum = g.add(sum, g.reshape(x, rows));
	}
	const mean = g.div(sum, g.constant("float", count));
	const rest = g.sub(g.constant("float", 1), t32);
	const mixed = g.add(g.mul(t32, mean), g.mul(rest, g.reshape(baseFloat, rows)));
	g.output("out", g.reshape(mixed, flat), ["n"]);
}
