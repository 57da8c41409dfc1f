import { PAIR_BLOCK } from "../../methods/kernels/range-kernels.js";
import { slerpCoefficients, slerpOperands } from "../../methods/slerp.js";
import { type MethodGraph, operandGraph } from "./method-graph.js";
import { resultTensor } from "./result-tensor.js";

/**
 * slerp (src/methods/slerp.ts) in two graphs: the first sums ‖B‖², ‖X‖² and ⟨B, X⟩ in float64 (in the pair-sums
 * kernel's order); the angle and the two
 * coefficients are computed here from them by the CPU kernel's own slerpCoefficients; the second forms s₀B + s₁X in
 * float32, as the CPU kernel does.
 */
export const slerpGraph: MethodGraph = operandGraph(slerpOperands, async ({ base, other, t }, context, runner) => {
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
			g.output("square0", g.sum(g.mul(v0, v0), PAIR_BLOCK), []);
			g.output("square1", g.sum(g.mul(v1, v1), PAIR_BLOCK), []);
			g.output("dot", g.sum(g.mul(v0, v1), PAIR_BLOCK), []);
		},
		tensors,
	);
	const n0 = Math.sqrt(Number(sums.square0?.[0]));
	const n1 = Math.sqrt(Number(sums.square1?.[0]));
	const [s0, s1] = slerpCoefficients(n0, n1, Number(sums.dot?.[0]), t);
	const outputs = await runner.run(
		"slerp-mix",
		(g) => {
			const v0 = g.input("v0", "float", ["n"]);
			const v1 = g.input("v1", "float", ["n"]);
			g.output("out", g.add(g.mul(g.input("s0", "float", []), v0), g.mul(g.input("s1", "float", []), v1)), ["n"]);
		},
		{
			...tensors,
			s0: { type: "float32", data: Float32Array.of(s0), dims: [] },
			s1: { type: "float32", data: Float32Array.of(s1), dims: [] },
		},
	);
	return resultTensor(outputs.out as Float32Array, base.shape, context);
});
