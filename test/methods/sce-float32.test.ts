import { afterAll, afterEach, describe, expect, it } from "vitest";
import { loadOnnxruntime } from "../../src/execute/onnx/load-onnxruntime.js";
import { OnnxTensorBackend } from "../../src/execute/onnx/onnx-tensor-backend.js";
import { setSimdEnabled } from "../../src/methods/kernels/simd/simd-kernels.js";
import type { MergeContext, MergeInputs, MergeResult, ModelTensor } from "../../src/methods/merge-method.js";
import { findMergeMethod } from "../../src/methods/registry.js";

/**
 * In a float32 merge, mergekit's SCE rounds each step to float32: the weights sᵢ, each product τᵢ·sᵢ, the running
 * sums of the products and of the weights, the quotient and the sum with the base. These float32 bits (base, two
 * models) were drawn so that the two task vectors' energies are exact and in the ratio 1 : 2, and `torch` is what
 * PyTorch 1.13 gave for mergekit's SCE formula (select_topk 1) on them. Adding float64 products instead rounds 15 of
 * the 32 elements the other way.
 */
const BITS = {
	base: [
		0x3dc00000, 0x3f4c0000, 0x3f780000, 0x3ed80000, 0xbf2c0000, 0x3e980000, 0xbf0c0000, 0x3f700000, 0x3ea80000,
		0xbe800000, 0xbd000000, 0xbf700000, 0x3da00000, 0xbf0c0000, 0xbe000000, 0x3ef80000, 0xbea80000, 0x3ea80000,
		0x3f340000, 0xbf440000, 0xbf1c0000, 0xbed80000, 0xbe000000, 0xbf540000, 0xbf380000, 0xbf680000, 0xbf040000,
		0xbe800000, 0xbf080000, 0x3f100000, 0xbf240000, 0x3ef00000,
	],
	x0: [
		0x3f5b0000, 0x3f570000, 0x3ff80000, 0x3f540000, 0x3e980000, 0x3f280000, 0xbf870000, 0x3f270000, 0xbedc0000,
		0xbf5f0000, 0x3f750000, 0xbfa00000, 0xbf270000, 0xbfb98000, 0x3eb20000, 0x3e040000, 0xbea80000, 0x3ea80000,
		0x3f340000, 0xbf440000, 0xbf1c0000, 0xbed80000, 0xbe000000, 0xbf540000, 0xbf380000, 0xbf680000, 0xbf040000,
		0xbe800000, 0xbf080000, 0x3f100000, 0xbf240000, 0x3ef00000,
	],
	x1: [
		0xbe600000, 0x3f570000, 0x0, 0x3f650000, 0xbf970000, 0x3f838000, 0x3e5c0000, 0xbd000000, 0xbce00000, 0xbf090000,
		0x3f3a0000, 0xbf080000, 0x3f888000, 0x3d980000, 0x3e700000, 0x3fb18000, 0xbfa88000, 0xbf240000, 0x3f878000,
		0xbfd58000, 0x3eb80000, 0x3db00000, 0xbf190000, 0xbd900000, 0xbed00000, 0xbf730000, 0x3e5c0000, 0x3e200000,
		0xbe300000, 0x3f590000, 0xbca00000, 0x3f9d8000,
	],
	torch: [
		0x3f5b0000, 0x3f570000, 0x3ff80000, 0x3f5f5556, 0x3e980002, 0x3f675556, 0x3e5c0000, 0x3e495554, 0xbe255558,
		0xbf25aaab, 0x3f4daaac, 0xbf080000, 0x3f888000, 0xbfb98000, 0x3e8b5556, 0x3fb18000, 0xbfa88000, 0xbf240001,
		0x3f878000, 0xbfd58000, 0x3eb80002, 0x3db00000, 0xbf190000, 0xbd8ffff8, 0xbed00000, 0xbf730000, 0x3e5c0000,
		0x3e200000, 0xbe300000, 0x3f590000, 0xbca00000, 0x3f9d8000,
	],
};

function tensor(model: string, bits: readonly number[]): ModelTensor {
	return { model, data: new Float32Array(Uint32Array.from(bits).buffer), shape: [bits.length], params: {} };
}

function inputs(): MergeInputs {
	return { models: [tensor("model-0", BITS.x0), tensor("model-1", BITS.x1)], base: tensor("base", BITS.base) };
}

function context(): MergeContext {
	return {
		tensorName: "model.layers.0.mlp.down_proj.weight",
		isEmbed: false,
		params: { select_topk: 1, int8_mask: false },
		uniform: () => {
			throw new Error("nothing is drawn");
		},
		warn: () => undefined,
	};
}

function bitsOf(result: MergeResult | undefined): number[] {
	if (!result) {
		throw new Error("no result");
	}
	return Array.from(new Uint32Array(Float32Array.from(result.data).buffer));
}

const backend = new OnnxTensorBackend(loadOnnxruntime(), "onnx-cpu");
afterAll(() => backend.close());
afterEach(() => setSimdEnabled(true));

describe("SCE in a float32 merge, rounded step by step as PyTorch computes it", () => {
	for (const simd of [true, false]) {
		it(`${simd ? "SIMD" : "JavaScript"} kernels`, () => {
			setSimdEnabled(simd);
			expect(bitsOf(findMergeMethod("sce")?.merge(inputs(), context()) as MergeResult)).toEqual(BITS.torch);
		});
	}
	it("onnxruntime's CPU execution provider", async () => {
		const sce = findMergeMethod("sce");
		if (!sce) {
			throw new Error("no method sce");
		}
		expect(bitsOf(await backend.merge(sce, inputs(), context()))).toEqual(BITS.torch);
	});
});
