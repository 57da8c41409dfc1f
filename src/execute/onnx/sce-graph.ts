import { copyTensor } from "../../methods/copy-tensor.js";
import { PAIR_BLOCK } from "../../methods/kernels/range-kernels.js";
import { SCE_DIVISOR_FLOOR } from "../../methods/kernels/simd/sce-simd.js";
import type { ParameterDef } from "../../methods/merge-method.js";
import { readNumber } from "../../methods/read-param.js";
import { requireBase } from "../../methods/require-base.js";
import type { GraphBuilder, Value } from "./graph-builder.js";
import { keepMagnitudeRanks } from "./keep-magnitude-ranks-graph.js";
import type { GraphFeed, MethodGraph } from "./method-graph.js";
import { resultTensor } from "./result-tensor.js";
import { agreeingVotes } from "./sign-election-graph.js";
import { wideScalar } from "./wide-scalar.js";

/**
 * sce (src/methods/sce.ts), in one graph: task vectors τᵢ = Xᵢ − B; with select_topk < 1 only the elements of the
 * floor(nonzero·topk) highest per-element variances across models stay (ties to the lowest index); per-model weights
 * sᵢ = mean(τᵢ²) / Σ mean(τⱼ²); TIES' sign election with those weights; out = B + Σ agreeing sᵢτᵢ / max(Σ sᵢ, 1e-6).
 * The float64 and float32 steps are the kernels', so the CPU execution provider gives their bits.
 */
export const sceGraph: MethodGraph = {
	async merge(method, inputs, context, runner) {
		const where = `sce on ${context.tensorName}`;
		const { base, models } = requireBase(inputs, where);
		if (models.length === 0) {
			return copyTensor(base);
		}
		const topk = readNumber(
			context.params,
			method.parameters.find((p) => p.name === "select_topk") as ParameterDef,
			where,
		);
		const n = base.data.length;
		const select = topk < 1;
		const feeds: Record<string, GraphFeed> = {
			base: { type: "float32", data: base.data, dims: [n] },
			elements: wideScalar(runner, n),
			even: wideScalar(runner, 1 / models.length),
			...(select ? { topk: { type: "float32", data: Float32Array.of(topk), dims: [] } } : {}),
		};
		models.forEach((tensor, i) => {
			feeds[`x${i}`] = { type: "float32", data: tensor.data, dims: [n] };
		});
		const outputs = await runner.run(
			`sce:${models.length}:${select ? "select" : "all"}`,
			(g) => buildSce(g, models.length, select),
			feeds,
		);
		return resultTensor(outputs.out as Float32Array, base.shape, context);
	},
};

function buildSce(g: GraphBuilder, count: number, select: boolean): void {
	const base = g.input("base", "float", ["n"]);
	const zero = g.constant("float", 0);
	const wideZero = g.wideConstant(0);
	let deltas = Array.from({ length: count }, (_, i) => g.sub(g.input(`x${i}`, "float", ["n"]), base));
	if (select) {
		const keep = selectByVariance(g, deltas);
		deltas = deltas.map((delta) => g.where(keep, delta, zero));
	}
	// mean(τᵢ²) in float64 (summed as pair-sums sums), then the weights, as the kernel's Array.reduce and divisions
	// make them.
	const elements = g.input("elements", g.wide, []);
	const energies = deltas.map((delta) => {
		const wide = g.cast(delta, g.wide);
		return g.div(g.sum(g.mul(wide, wide), PAIR_BLOCK), elements);
	});
	let total = wideZero;
	for (const energy of energies) {
		total = g.add(total, energy);
	}
	const even = g.input("even", g.wide, []);
	const tiny = g.less(g.abs(total), g.wideConstant(1e-6));
	const weights = energies.map((energy) => g.cast(g.where(tiny, even, g.div(energy, total)), "float"));
	// The sign election on the task vectors, then the finish in float32, as the kernels compute them: each vector's
	// term τᵢ·sᵢ where it agrees (τᵢ·0 where not), and sᵢ, added from +0.
	const agreeing = agreeingVotes(g, deltas, zero);
	let numerator = zero;
	let divisor = zero;
	deltas.forEach((delta, i) => {
		const weight = g.where(agreeing[i] as Value, weights[i] as Value, zero);
		numerator = g.add(numerator, g.mul(delta, weight));
		divisor = g.add(divisor, weight);
	});
	const scaled = g.div(numerator, g.max(divisor, g.constant("float", SCE_DIVISOR_FLOOR)));
	g.output("out", g.add(base, scaled), ["n"]);
}

/**
 * selectByVariance's mask: the population variance of each element across the task vectors (float64, stored as
 * float32), and the floor(fround(nonzero·topk)) largest kept, ties to the lowest index; zero variances never count.
 */
function selectByVariance(g: GraphBuilder, deltas: readonly Value[]): Value {
	const count = g.wideConstant(deltas.length);
	let mean = g.wideConstant(0);
	for (const delta of deltas) {
		mean = g.add(mean, g.cast(delta, g.wide));
	}
	mean = g.div(mean, count);
	let squares = g.wideConstant(0);
	for (const delta of deltas) {
		const d = g.sub(g.cast(delta, g.wide), mean);
		squares = g.add(squares, g.mul(d, d));
	}
	const variance = g.cast(g.div(squares, count), "float");
	const nonzero = g.not(g.equal(variance, g.constant("float", 0)));
	// mergekit's k comes from a float32 product of the count and topk.
	const k = g.cast(g.floor(g.mul(g.cast(g.count(nonzero), "float"), g.input("topk", "float", []))), "int64");
	// TopK needs 1 ≤ k ≤ n: clamp, and keep nothing when k is 0, as keepMagnitudeRanks does.
	const n = g.element(g.shapeOf(variance), 0);
	const hi = g.reshape(g.max(g.min(k, n), g.constant("int64", 1)), g.constant("int64", [1], [1]));
	const top = keepMagnitudeRanks(g, variance, undefined, hi) as Value;
	return g.and(g.and(top, nonzero), g.greater(k, g.constant("int64", 0)));
}
