import { encodeOnnxModel } from "./encode-onnx-model.js";
import { GraphBuilder } from "./graph-builder.js";
import { loadOnnxruntime } from "./load-onnxruntime.js";

/**
 * Runs a one-node graph on the execution provider named by argv[2] and prints `{"ok":true}` or `{"error":"..."}` on
 * stdout. probe-provider.ts runs this in a child process: native libraries (CUDA, Dawn, Vulkan drivers) print their
 * own warnings straight to stderr, or crash, while they look for a device, and none of that should reach the user.
 */
export async function probeExecutionProvider(provider: string): Promise<{ ok: true } | { error: string }> {
	try {
		const ort = loadOnnxruntime();
		const graph = new GraphBuilder("probe", { wide: "float", sequentialSums: false });
		const x = graph.input("x", "float", [2]);
		graph.output("y", graph.add(x, x), [2]);
		const session = await ort.InferenceSession.create(encodeOnnxModel(graph.build()), {
			executionProviders: [provider],
		});
		try {
			const result = await session.run({ x: new ort.Tensor("float32", Float32Array.of(1, 2), [2]) });
			const y = result.y?.data as Float32Array | undefined;
			return y?.[0] === 2 && y[1] === 4 ? { ok: true } : { error: "it computed a wrong result on a test graph" };
		} finally {
			await session.release();
		}
	} catch (error) {
		return { error: (error as Error).message };
	}
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"))) {
	const provider = process.argv[2] ?? "";
	probeExecutionProvider(provider).then((result) => {
		process.stdout.write(`${JSON.stringify(result)}\n`);
	});
}
