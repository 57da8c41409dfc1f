import type { InferenceSession, Tensor } from "onnxruntime-node";
import type { MergeContext, MergeInputs, MergeMethod, MergeResult } from "../../methods/merge-method.js";
import type { TensorBackend } from "../tensor-backend.js";
import { encodeOnnxModel } from "./encode-onnx-model.js";
import { GraphBuilder } from "./graph-builder.js";
import type { Onnxruntime } from "./load-onnxruntime.js";
import type { GraphFeed, GraphOutputs, GraphRunner } from "./method-graph.js";
import { METHOD_GRAPHS } from "./method-graphs.js";

/** The onnxruntime execution provider behind each ONNX `--device`. */
export const ONNX_PROVIDERS = { "onnx-cpu": "cpu", cuda: "cuda", webgpu: "webgpu" } as const;

export type OnnxDevice = keyof typeof ONNX_PROVIDERS;

const PROVIDER_NAMES: Record<OnnxDevice, string> = { "onnx-cpu": "CPU", cuda: "CUDA", webgpu: "WebGPU" };

/**
 * Merge methods' per-tensor math on an onnxruntime execution provider: one InferenceSession per graph signature (method,
 * model count, dtype, the static parameters that change its structure), created on first use and kept for the run.
 * Inputs go in as float32 tensors, the result comes back as a Float32Array.
 */
export class OnnxTensorBackend implements TensorBackend, GraphRunner {
	readonly device: OnnxDevice;
	readonly label: string;
	readonly sequentialSums: boolean;
	readonly wide: "double" | "float";
	readonly #ort: Onnxruntime;
	readonly #sessions = new Map<string, Promise<InferenceSession>>();
	/** Private copies of inputs that live on SharedArrayBuffers, which onnxruntime-node refuses; reused across tensors. */
	readonly #staging = new Map<string, Float32Array>();

	constructor(ort: Onnxruntime, device: OnnxDevice) {
		this.#ort = ort;
		this.device = device;
		this.label = `${device} (onnxruntime ${ort.env.versions.node ?? ort.env.versions.common}, ${PROVIDER_NAMES[device]} execution provider)`;
		// The CPU provider adds in index order, like our kernels; GPUs reduce in parallel (see GraphRunner).
		this.sequentialSums = device === "onnx-cpu";
		// WebGPU has no float64.
		this.wide = device === "webgpu" ? "float" : "double";
	}

	hasGraph(method: string): boolean {
		return Object.hasOwn(METHOD_GRAPHS, method);
	}

	async merge(method: MergeMethod, inputs: MergeInputs, context: MergeContext): Promise<MergeResult | undefined> {
		const graph = METHOD_GRAPHS[method.name];
		if (!graph) {
			throw new Error(`${method.name} has no ONNX graph, so --device ${this.device} cannot merge it; use --device cpu`);
		}
		return graph.merge(method, inputs, context, this);
	}

	async run(
		key: string,
		build: (graph: GraphBuilder) => void,
		feeds: Readonly<Record<string, GraphFeed>>,
	): Promise<GraphOutputs> {
		const session = await this.#session(key, build);
		const tensors: Record<string, Tensor> = {};
		for (const [name, feed] of Object.entries(feeds)) {
			tensors[name] = new this.#ort.Tensor(feed.type, this.#unshared(name, feed), feed.dims);
		}
		let results: InferenceSession.ReturnType;
		try {
			results = await session.run(tensors);
		} catch (error) {
			throw new Error(`onnxruntime (${this.device}) failed to run graph ${key}: ${(error as Error).message}`);
		}
		const outputs: GraphOutputs = {};
		for (const [name, tensor] of Object.entries(results)) {
			outputs[name] = tensor.data as Float32Array | Float64Array | BigInt64Array;
		}
		return outputs;
	}

	async close(): Promise<void> {
		const sessions = [...this.#sessions.values()];
		this.#sessions.clear();
		for (const session of sessions) {
			await session.then(
				(opened) => opened.release(),
				() => undefined,
			);
		}
	}

	/** Creates a graph's session the first time its key is seen. */
	#session(key: string, build: (graph: GraphBuilder) => void): Promise<InferenceSession> {
		let session = this.#sessions.get(key);
		if (!session) {
			const graph = new GraphBuilder(key, { wide: this.wide, sequentialSums: this.sequentialSums });
			build(graph);
			const bytes = encodeOnnxModel(graph.build());
			session = this.#ort.InferenceSession.create(bytes, {
				executionProviders: [ONNX_PROVIDERS[this.device]],
				// No graph rewrites: even the basic level drops an Add of +0, which turns a −0 sum into −0 where our kernels
				// (and IEEE arithmetic) give +0.
				graphOptimizationLevel: "disabled",
			}).catch((error: unknown) => {
				throw new Error(`onnxruntime (${this.device}) refused graph ${key}: ${(error as Error).message}`);
			});
			this.#sessions.set(key, session);
		}
		return session;
	}

	/** The feed's data, copied off a SharedArrayBuffer (the executor's pool with worker threads) when it is on one. */
	#unshared(name: string, feed: GraphFeed): GraphFeed["data"] {
		if (!(feed.data.buffer instanceof SharedArrayBuffer)) {
			return feed.data;
		}
		if (!(feed.data instanceof Float32Array)) {
			return feed.data.slice();
		}
		let staging = this.#staging.get(name);
		if (!staging || staging.length < feed.data.length) {
			staging = new Float32Array(feed.data.length);
			this.#staging.set(name, staging);
		}
		const view = staging.subarray(0, feed.data.length);
		view.set(feed.data);
		return view;
	}
}
