import { afterAll, afterEach, describe, expect, it } from "vitest";
import { loadOnnxruntime } from "../../src/execute/onnx/load-onnxruntime.js";
import { OnnxTensorBackend } from "../../src/execute/onnx/onnx-tensor-backend.js";
import { setSimdEnabled } from "../../src/methods/kernels/simd/simd-kernels.js";
import type { MergeContext, MergeInputs, MergeResult, ModelTensor } from "../../src/methods/merge-method.js";
import { findMergeMethod } from "../../src/methods/registry.js";

/**
 * In a bfloat16 merge, mergekit sums the weighted tensors with `sum(dim=0)`, which PyTorch adds in a float32 running
 * sum. Each column below is three bfloat16 values whose sum rounds one way after that running sum and the other way
 * after an exact (float64) sum; `torch` is what PyTorch 1.13 gave for `(t * ones).sum(dim=0)`.
 */
const COLUMNS: { values: [number, number, number]; torch: number }[] = [
	{ values: [0x3f9b, 0xb432, 0x4014], torch: 0x4062 },
	{ values: [0x33e4, 0xc034, 0x3f55], torch: 0xbffe },
	{ values: [0x3332, 0xbeea, 0xbea9], torch: 0xbf4a },
	{ values: [0x3f8e, 0x3405, 0x3f93], torch: 0x4010 },
	{ values: [0xb39c, 0xc01b, 0x3f27], torch: 0xbfe2 },
	{ values: [0xb49c, 0x4045, 0x3fac], torch: 0x408e },
];

function tensor(model: string, bits: readonly number[], weight: number): ModelTensor {
	const bf16 = Uint16Array.from(bits);
	const data = new Float32Array(Uint32Array.from(bf16, (b) => b << 16).buffer);
	return { model, bf16, data, shape: [bits.length], params: { weight } };
}

function inputs(withBase: boolean): MergeInputs {
	const models = [0, 1, 2].map((i) =>
		tensor(
			`model-${i}`,
			COLUMNS.map((column) => column.values[i] as number),
			1,
		),
	);
	// Task vectors against a zero base are the values themselves, and base + sum is the sum.
	return withBase
		? { models, base: tensor("base", new Array(COLUMNS.length).fill(0), 1) }
		: { models, base: undefined };
}

function context(): MergeContext {
	return {
		tensorName: "model.layers.0.mlp.down_proj.weight",
		isEmbed: false,
		params: { normalize: false },
		uniform: () => {
			throw new Error("nothing is drawn");
		},
		warn: () => undefined,
		computeDtype: "BF16",
	};
}

/** The result's bfloat16 bits. */
function bitsOf(result: MergeResult | undefined): number[] {
	if (!result) {
		throw new Error("no result");
	}
	return Array.from(new Uint32Array(Float32Array.from(result.data).buffer), (b) => b >>> 16);
}

const backend = new OnnxTensorBackend(loadOnnxruntime(), "onnx-cpu");
afterAll(() => backend.close());
afterEach(() => setSimdEnabled(true));

describe("sums of three tensors in a bfloat16 merge, as PyTorch adds them", () => {
	const expected = COLUMNS.map((column) => column.torch);
	for (const [method, withBase] of [
		["linear", false],
		["task_arithmetic", true],
	] as const) {
		for (const simd of [true, false]) {
			it(`${method}, ${simd ? "SIMD" : "JavaScript"} kernels`, () => {
				setSimdEnabled(simd);
				const merged = findMergeMethod(method)?.merge(inputs(withBase), context()) as MergeResult;
				expect(bitsOf(merged)).toEqual(expected);
			});
		}
		it(`${method}, onnxruntime's CPU execution provider`, async () => {
			const found = findMergeMethod(method);
			if (!found) {
				throw new Error(`no method ${method}`);
			}
			expect(bitsOf(await backend.merge(found, inputs(withBase), context()))).toEqual(expected);
		});
	}
});
