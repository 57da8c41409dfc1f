import type { MergeContext, MergeInputs, MergeMethod, MergeResult } from "../../methods/merge-method.js";
import type { Operands } from "../../methods/operands.js";
import type { GraphBuilder } from "./graph-builder.js";

/** A typed array fed to a graph, with its ONNX element type and dimensions. */
export type GraphFeed =
	| { type: "float32"; data: Float32Array; dims: readonly number[] }
	| { type: "float64"; data: Float64Array; dims: readonly number[] }
	| { type: "int64"; data: BigInt64Array; dims: readonly number[] }
	| { type: "uint32"; data: Uint32Array; dims: readonly number[] }
	| { type: "bool"; data: Uint8Array; dims: readonly number[] };

/** What a graph run returns, by output name. */
export type GraphOutputs = Record<string, Float32Array | Float64Array | BigInt64Array>;

/** Runs graphs on the backend's execution provider, one cached session per key. */
export interface GraphRunner {
	/**
	 * Runs the graph known by `key` (everything its structure depends on: method, model count, dtype, static
	 * parameters), building it with `build` the first time the key is seen.
	 */
	run(
		key: string,
		build: (graph: GraphBuilder) => void,
		feeds: Readonly<Record<string, GraphFeed>>,
	): Promise<GraphOutputs>;
	/**
	 * Whether `GraphBuilder.sum` adds in index order, as our CPU kernels' float64 loops do (the CPU execution
	 * provider's CumSum): then results match them bit for bit. Elsewhere sums are parallel reductions.
	 */
	readonly sequentialSums: boolean;
	/** The type of float64 intermediates there (GraphBuilderOptions.wide): scalars of that type are fed as such. */
	readonly wide: "double" | "float";
}

/**
 * A merge method's per-tensor math on the ONNX backend: reads parameters and checks them as the method's kernel does
 * (same errors and warnings), computes in JavaScript only what is cheap and per tensor (weights, divisors, random
 * draws), and runs graphs for the per-element work.
 */
export interface MethodGraph {
	merge(
		method: MergeMethod,
		inputs: MergeInputs,
		context: MergeContext,
		runner: GraphRunner,
	): Promise<MergeResult | undefined>;
}

/**
 * The MethodGraph of a method whose input checks and parameter reading are its `operands` function, shared with its
 * CPU kernel: the result that function gives outright, or `merge` on the checked operands.
 */
export function operandGraph<T extends object>(
	operands: (inputs: MergeInputs, context: MergeContext) => Operands<T, MergeResult | undefined>,
	merge: (operands: T, context: MergeContext, runner: GraphRunner) => Promise<MergeResult>,
): MethodGraph {
	return {
		async merge(_method, inputs, context, runner) {
			const checked = operands(inputs, context);
			return "done" in checked ? checked.done : merge(checked, context, runner);
		},
	};
}
