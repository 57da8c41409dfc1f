import { linearGraph } from "./linear-graph.js";
import type { MethodGraph } from "./method-graph.js";
import { modelStockGraph } from "./model-stock-graph.js";
import { nearswapGraph } from "./nearswap-graph.js";
import { sceGraph } from "./sce-graph.js";
import { slerpGraph } from "./slerp-graph.js";
import { taskArithmeticGraph } from "./task-arithmetic-graph.js";

/** The merge methods the ONNX backend computes, by registry name; the others run on the CPU kernels only. */
export const METHOD_GRAPHS: Readonly<Record<string, MethodGraph>> = {
	linear: linearGraph,
	slerp: slerpGraph,
	nearswap: nearswapGraph,
	task_arithmetic: taskArithmeticGraph,
	ties: taskArithmeticGraph,
	dare_ties: taskArithmeticGraph,
	dare_linear: taskArithmeticGraph,
	breadcrumbs: taskArithmeticGraph,
	breadcrumbs_ties: taskArithmeticGraph,
	della: taskArithmeticGraph,
	della_linear: taskArithmeticGraph,
	sce: sceGraph,
	model_stock: modelStockGraph,
};
