import type { GraphFeed, GraphRunner } from "./method-graph.js";

/** A float64 number our kernels use (a weight, a divisor), fed in the runner's wide type. */
export function wideScalar(runner: GraphRunner, value: number): GraphFeed {
	return runner.wide === "double"
		? { type: "float64", data: Float64Array.of(value), dims: [] }
		: { type: "float32", data: Float32Array.of(value), dims: [] };
}
