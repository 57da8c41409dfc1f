import { afterAll, describe, expect, it } from "vitest";
import { counterUniform } from "../../../src/execute/counter-random.js";
import { loadOnnxruntime } from "../../../src/execute/onnx/load-onnxruntime.js";
import { METHOD_GRAPHS } from "../../../src/execute/onnx/method-graphs.js";
import { OnnxTensorBackend } from "../../../src/execute/onnx/onnx-tensor-backend.js";
import { roundArray } from "../../../src/methods/kernels/round-array.js";
import type {
	KernelStats,
	MergeContext,
	MergeInputs,
	ModelTensor,
	ParameterValue,
} from "../../../src/methods/merge-method.js";
import { findMergeMethod } from "../../../src/methods/registry.js";
import type { FloatDtype } from "../../../src/safetensors/dtype.js";

const backend = new OnnxTensorBackend(loadOnnxruntime(), "onnx-cpu");
afterAll(() => backend.close());

/** Seeded values with what makes kernels differ if anything does: equal magnitudes, exact zeros and −0. */
function values(n: number, seed: number, scale: number): Float32Array {
	const out = new Float32Array(n);
	let state = seed;
	for (let i = 0; i < n; i++) {
		state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
		const u = state / 2 ** 32;
		out[i] = i % 17 === 0 ? scale / 8 : i % 29 === 0 ? -0 : (u - 0.5) * scale;
	}
	return out;
}

interface Case {
	method: string;
	dtype: FloatDtype | undefined;
	shape: number[];
	global?: Record<string, ParameterValue>;
	perModel: Record<string, ParameterValue>[];
}

function inputsFor(test: Case): MergeInputs {
	const n = test.shape.reduce((a, b) => a * b, 1);
	const round = (data: Float32Array): Float32Array => {
		roundArray(data, test.dtype === "F32" ? undefined : test.dtype);
		return data;
	};
	const base = round(values(n, 1, 0.2));
	const models: ModelTensor[] = test.perModel.map((params, i) => {
		const delta = values(n, 10 + i, 0.02);
		// Some elements equal to the base: task vectors with exact zeros.
		const data = round(base.map((b, j) => (j % 11 === i ? b : b + (delta[j] as number))));
		return { model: `model-${i}`, data, shape: test.shape, params };
	});
	const baseTensor = { model: "base", data: base, shape: test.shape, params: { weight: 0.2 } };
	return test.method === "linear" ? { models: [baseTensor, ...models], base: undefined } : { models, base: baseTensor };
}

function contextFor(test: Case, stats: KernelStats[], warnings: string[]): MergeContext {
	return {
		tensorName: "model.layers.0.mlp.down_proj.weight",
		isEmbed: false,
		params: test.global ?? {},
		uniform: (model) => counterUniform(1234, "model.layers.0.mlp.down_proj.weight", model),
		warn: (message) => warnings.push(message),
		...(test.dtype === undefined ? {} : { computeDtype: test.dtype }),
		record: (kernel) => stats.push(kernel),
	};
}

function differing(a: Float32Array, b: Float32Array): number {
	let count = 0;
	for (let i = 0; i < a.length; i++) {
		if (!Object.is(a[i], b[i])) {
			count++;
		}
	}
	return count;
}

const DTYPES: (FloatDtype | undefined)[] = [undefined, "BF16", "F16"];
const THREE = [
	{ weight: 0.5, density: 0.4, gamma: 0.05, epsilon: 0.2 },
	{ weight: -0.3, density: 0.7, gamma: 0.1, epsilon: 0.1 },
	{ weight: 1.1, density: 0.25, gamma: 0.02, epsilon: 0.15 },
];
const FAMILY = [
	"task_arithmetic",
	"ties",
	"dare_ties",
	"dare_linear",
	"breadcrumbs",
	"breadcrumbs_ties",
	"della",
	"della_linear",
];

const CASES: Case[] = [
	...DTYPES.flatMap((dtype) => [
		...FAMILY.flatMap((method) => [
			{ method, dtype, shape: [48, 70], global: { lambda: 1.3 }, perModel: THREE },
			{ method, dtype, shape: [3000], global: { normalize: true, rescale: false }, perModel: THREE.slice(0, 2) },
			{ method, dtype, shape: [5, 12, 7], global: { normalize: false, rescale: true }, perModel: THREE.slice(1) },
		]),
		{ method: "linear", dtype, shape: [48, 70], perModel: THREE },
		{ method: "linear", dtype, shape: [300], global: { normalize: false }, perModel: [{ weight: 0.7 }] },
		{ method: "slerp", dtype, shape: [48, 70], global: { t: 0.3 }, perModel: [{}] },
		{ method: "nearswap", dtype, shape: [48, 70], global: { t: 0.004 }, perModel: [{}] },
		{ method: "sce", dtype, shape: [48, 70], global: { select_topk: 0.4 }, perModel: [{}, {}, {}] },
		{ method: "sce", dtype, shape: [300], global: { select_topk: 1 }, perModel: [{}, {}] },
		{ method: "model_stock", dtype, shape: [48, 70], perModel: [{}, {}, {}] },
		// Over three SUM_BLOCKs, the last one ragged: the whole-tensor sums are added block by block.
		{ method: "model_stock", dtype, shape: [150_001], perModel: [{}, {}, {}] },
		{ method: "model_stock", dtype, shape: [48, 70], global: { filter_wise: true }, perModel: [{}, {}] },
	]),
];

describe("ONNX graphs against the CPU kernels, on the CPU execution provider", () => {
	it("cover every method the backend claims", () => {
		expect([...new Set(CASES.map((test) => test.method))].sort()).toEqual(Object.keys(METHOD_GRAPHS).sort());
	});

	for (const test of CASES) {
		const name = `${test.method} ${test.dtype ?? "F32"} [${test.shape.join(", ")}] ${JSON.stringify(test.global ?? {})}`;
		it(`${name}: bit-identical result, merge-report counts and warnings`, async () => {
			const method = findMergeMethod(test.method);
			if (!method) {
				throw new Error(`no method ${test.method}`);
			}
			const inputs = inputsFor(test);
			const cpuStats: KernelStats[] = [];
			const cpuWarnings: string[] = [];
			const expected = method.merge(inputs, contextFor(test, cpuStats, cpuWarnings));
			const onnxStats: KernelStats[] = [];
			const onnxWarnings: string[] = [];
			const got = await backend.merge(method, inputs, contextFor(test, onnxStats, onnxWarnings));
			expect(got?.shape).toEqual(expected?.shape);
			expect(differing(got?.data as Float32Array, expected?.data as Float32Array)).toBe(0);
			expect(onnxStats).toEqual(cpuStats);
			expect(onnxWarnings).toEqual(cpuWarnings);
		});
	}

	it("reports the CPU kernels' errors and warnings", async () => {
		const ties = findMergeMethod("ties");
		const breadcrumbs = findMergeMethod("breadcrumbs");
		if (!ties || !breadcrumbs) {
			throw new Error("registry lacks ties or breadcrumbs");
		}
		const tiny: Case = { method: "ties", dtype: undefined, shape: [10], perModel: [{ weight: 1, density: 0.05 }] };
		const inputs = inputsFor(tiny);
		const cpuError = (() => {
			try {
				ties.merge(inputs, contextFor(tiny, [], []));
			} catch (error) {
				return (error as Error).message;
			}
			return "no error";
		})();
		await expect(backend.merge(ties, inputs, contextFor(tiny, [], []))).rejects.toThrow(cpuError);
		const quirk: Case = { ...tiny, method: "breadcrumbs", perModel: [{ weight: 1, density: 0.5, gamma: 0.01 }] };
		const cpuWarnings: string[] = [];
		const onnxWarnings: string[] = [];
		const quirkInputs = inputsFor(quirk);
		breadcrumbs.merge(quirkInputs, contextFor(quirk, [], cpuWarnings));
		await backend.merge(breadcrumbs, quirkInputs, contextFor(quirk, [], onnxWarnings));
		expect(cpuWarnings).toHaveLength(1);
		expect(onnxWarnings).toEqual(cpuWarnings);
	});
});
