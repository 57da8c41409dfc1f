import { describe, expect, it } from "vitest";
import { encodeOnnxModel } from "../../../src/execute/onnx/encode-onnx-model.js";
import { GraphBuilder } from "../../../src/execute/onnx/graph-builder.js";
import { keepMagnitudeRanks as keepRanksGraph } from "../../../src/execute/onnx/keep-magnitude-ranks-graph.js";
import { loadOnnxruntime } from "../../../src/execute/onnx/load-onnxruntime.js";
import { keepMagnitudeRanks } from "../../../src/methods/kernels/keep-magnitude-ranks.js";
import { roundArray } from "../../../src/methods/kernels/round-array.js";

/** Runs a one-off graph on the CPU provider. */
async function run(
	build: (g: GraphBuilder) => void,
	feeds: Record<string, { type: "float32" | "int64"; data: Float32Array | BigInt64Array; dims: number[] }>,
): Promise<Record<string, Float32Array | Float64Array | Uint8Array>> {
	const ort = loadOnnxruntime();
	const g = new GraphBuilder("test", { wide: "double", sequentialSums: true });
	build(g);
	const session = await ort.InferenceSession.create(encodeOnnxModel(g.build()), { graphOptimizationLevel: "basic" });
	try {
		const tensors = Object.fromEntries(
			Object.entries(feeds).map(([name, feed]) => [name, new ort.Tensor(feed.type, feed.data, feed.dims)]),
		);
		const results = await session.run(tensors);
		return Object.fromEntries(
			Object.entries(results).map(([name, tensor]) => [name, tensor.data as Float32Array | Float64Array | Uint8Array]),
		);
	} finally {
		await session.release();
	}
}

/** Float32 values from random bit patterns: every exponent, subnormals, infinities and NaN included. */
function randomBits(n: number, seed: number): Float32Array {
	const bits = new Uint32Array(n);
	let state = seed;
	for (let i = 0; i < n; i++) {
		state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
		bits[i] = state ^ (state << 13);
	}
	return new Float32Array(bits.buffer);
}

function sameBits(a: Float32Array, b: Float32Array): number {
	let differing = 0;
	for (let i = 0; i < a.length; i++) {
		const x = a[i] as number;
		const y = b[i] as number;
		if (!(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)))) {
			differing++;
		}
	}
	return differing;
}

describe("GraphBuilder", () => {
	it("refuses to mix element types, naming the operator", () => {
		const g = new GraphBuilder("mixed", { wide: "double", sequentialSums: true });
		const x = g.input("x", "float", [2]);
		expect(() => g.add(x, g.wideConstant(1))).toThrow(/Add of float x and double/);
	});

	it("rounds to bfloat16 and float16 exactly as roundArray does, on all kinds of float32 values", async () => {
		const values = randomBits(1 << 16, 5);
		const got = await run(
			(g) => {
				const x = g.input("x", "float", ["n"]);
				g.output("bf16", g.round(x, "BF16"), ["n"]);
				g.output("f16", g.round(x, "F16"), ["n"]);
			},
			{ x: { type: "float32", data: values, dims: [values.length] } },
		);
		const bf16 = values.slice();
		roundArray(bf16, "BF16");
		const f16 = values.slice();
		roundArray(f16, "F16");
		expect(sameBits(got.bf16 as Float32Array, bf16)).toBe(0);
		expect(sameBits(got.f16 as Float32Array, f16)).toBe(0);
	});

	it("adds in index order, whole or by blocks in four lanes, as the float64 loops and SIMD kernels do", async () => {
		const n = 10_007;
		const values = new Float32Array(n).map((_, i) => Math.sin(i) * 10 ** ((i % 13) - 6));
		const got = await run(
			(g) => {
				const x = g.cast(g.input("x", "float", ["n"]), "double");
				g.output("whole", g.sum(x), []);
				g.output("blocks", g.sum(x, 1000), []);
			},
			{ x: { type: "float32", data: values, dims: [n] } },
		);
		let whole = 0;
		let blocks = 0;
		for (let from = 0; from < n; from += 1000) {
			const lanes = [0, 0, 0, 0];
			for (let i = from; i < Math.min(n, from + 1000); i++) {
				whole += values[i] as number;
				lanes[(i - from) % 4] = (lanes[(i - from) % 4] as number) + (values[i] as number);
			}
			const [l0 = 0, l1 = 0, l2 = 0, l3 = 0] = lanes;
			blocks += l0 + l1 + l2 + l3;
		}
		expect(whole).not.toBe(blocks);
		expect(got.whole?.[0]).toBe(whole);
		expect(got.blocks?.[0]).toBe(blocks);
	});

	it("keeps the same magnitude ranks as keepMagnitudeRanks, ties included", async () => {
		// Few distinct magnitudes, so that both boundaries fall among ties.
		const values = new Float32Array(5000).map((_, i) => ((i * 7919) % 23) * ((i % 3) - 1) * 0.25);
		for (const [lo, hi] of [
			[0, 1234],
			[17, 5000],
			[250, 4100],
		] as const) {
			const expected = values.slice();
			keepMagnitudeRanks(expected, lo, hi);
			// onnxruntime's Where returns a kept −0 as +0 (see GraphBuilder.where), which no later sum can tell apart.
			expected.forEach((value, i) => {
				expected[i] = value === 0 ? 0 : value;
			});
			const got = await run(
				(g) => {
					const x = g.input("x", "float", ["n"]);
					const keep = keepRanksGraph(
						g,
						g.abs(x),
						lo > 0 ? g.input("lo", "int64", [1]) : undefined,
						hi < values.length ? g.input("hi", "int64", [1]) : undefined,
					);
					g.output("out", keep ? g.where(keep, x, g.constant("float", 0)) : x, ["n"]);
				},
				{
					x: { type: "float32", data: values, dims: [values.length] },
					...(lo > 0 ? { lo: { type: "int64", data: BigInt64Array.of(BigInt(lo)), dims: [1] } } : {}),
					...(hi < values.length ? { hi: { type: "int64", data: BigInt64Array.of(BigInt(hi)), dims: [1] } } : {}),
				},
			);
			expect(sameBits(got.out as Float32Array, expected)).toBe(0);
		}
	});
});
