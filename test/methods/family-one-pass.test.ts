import { afterEach, describe, expect, it } from "vitest";
import { BufferPool, type PoolArena } from "../../src/engine/buffer-pool.js";
import { KEEP_BLOCK } from "../../src/methods/kernels/range-kernels.js";
import { roundBf16 } from "../../src/methods/kernels/round-bf16.js";
import { setSimdEnabled } from "../../src/methods/kernels/simd/simd-kernels.js";
import type { KernelStats, ModelTensor } from "../../src/methods/merge-method.js";
import { findMergeMethod } from "../../src/methods/registry.js";
import { f32ToBf16 } from "../../src/safetensors/dtype.js";
import { context, splitInto } from "./fixtures.js";

/**
 * task_arithmetic, TIES, DARE, DELLA and the breadcrumbs methods in a bf16 merge with the SIMD kernels make, prune and
 * combine the task vectors block by block without storing them (familyInOnePass); with SIMD off they run the
 * JavaScript kernels pass after pass. Both must write the same bits and report the same counts, over several
 * tie-counting and DARE blocks (and DELLA lanes), with many magnitudes tied at each cut.
 */

const n = 3 * KEEP_BLOCK + 1234;

/** bf16 values from a small set (so magnitudes tie a lot), as float32 values and as their bit patterns. */
function tiedBf16(seed: number, length: number, base?: Float32Array): Float32Array {
	let state = seed >>> 0;
	const out = new Float32Array(length);
	for (let j = 0; j < length; j++) {
		state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
		const step = ((state >>> 8) % 9) - 4;
		out[j] = roundBf16((base?.[j] ?? 0) + step * 0.0078125 + (j % 97 === 0 ? 0.5 : 0));
	}
	return out;
}

interface Case {
	method:
		| "ties"
		| "dare_ties"
		| "task_arithmetic"
		| "dare_linear"
		| "breadcrumbs"
		| "breadcrumbs_ties"
		| "della"
		| "della_linear";
	/** The tensors' shape; [n] if not given. DELLA ranks along dimension 1. */
	shape?: number[];
	/** Model Breadcrumbs' share of outliers cut (default 0.01). */
	gamma?: number;
	count: number;
	density: number[];
	normalize: boolean;
	rescale: boolean;
	lambda: number;
	pooled: boolean;
}

/** Copies an array into the arena's memory where `pooled` (as the executor's inputs lie), else leaves it as it is. */
function placer(arena: PoolArena, pooled: boolean): <T extends Float32Array | Uint16Array>(array: T) => T {
	return <T extends Float32Array | Uint16Array>(array: T): T => {
		if (!pooled) {
			return array;
		}
		const bytes = arena.bytes(array.byteLength);
		const view = (
			array instanceof Uint16Array
				? new Uint16Array(bytes.buffer, bytes.byteOffset, array.length)
				: new Float32Array(bytes.buffer, bytes.byteOffset, array.length)
		) as T;
		view.set(array as Float32Array & Uint16Array);
		return view;
	};
}

function merge(options: Case, writeBf16 = false) {
	const shape = options.shape ?? [n];
	const length = shape.reduce((product, size) => product * size, 1);
	const pool = new BufferPool(false);
	const arena = pool.arena();
	const place = placer(arena, options.pooled);
	const baseValues = tiedBf16(1, length);
	// Pooled, the base is also given as stored, and the one pass reads it so.
	const base: ModelTensor = {
		model: "base",
		data: place(baseValues),
		...(options.pooled ? { bf16: place(Uint16Array.from(baseValues, (v) => f32ToBf16(v))) } : {}),
		shape,
		params: {},
	};
	const models: ModelTensor[] = [0.5, -0.3, 1.25].slice(0, options.count).map((weight, i) => {
		const values = tiedBf16(10 + i, length, baseValues);
		return {
			model: `m${i}`,
			data: place(values),
			bf16: place(Uint16Array.from(values, (v) => f32ToBf16(v))),
			shape,
			params: { weight, density: options.density[i] as number, gamma: options.gamma ?? 0.01 },
		};
	});
	const stats: KernelStats[] = [];
	const ctx = {
		...context({ normalize: options.normalize, rescale: options.rescale, lambda: options.lambda, int8_mask: false }),
		computeDtype: "BF16" as const,
		record: (recorded: KernelStats) => stats.push(recorded),
		parallel: splitInto(3),
		...(options.pooled ? { alloc: arena } : {}),
		...(writeBf16 ? { bf16Output: place(new Uint16Array(length)) } : {}),
	};
	const result = findMergeMethod(options.method)?.merge({ models, base }, ctx);
	const written = result?.bf16 === undefined ? undefined : [...result.bf16];
	const writtenThere = result?.bf16 !== undefined && result.bf16 === ctx.bf16Output;
	const bits = [...new Uint32Array(Float32Array.from(result?.data ?? []).buffer)];
	arena.release();
	pool.close();
	return { bits, written, writtenThere, stats, warnings: ctx.warnings };
}

afterEach(() => {
	setSimdEnabled(true);
});

describe("the task-arithmetic family in one pass against the JavaScript kernels' passes", () => {
	const cases: Case[] = [1, 2, 3].flatMap((count) => [
		{ method: "ties", count, density: [0.37, 0.5, 1], normalize: true, rescale: false, lambda: 1, pooled: true },
		{ method: "ties", count, density: [0.37, 0.5, 1], normalize: false, rescale: false, lambda: 0.7, pooled: false },
		{ method: "dare_ties", count, density: [0.37, 1, 0.9], normalize: true, rescale: true, lambda: 1, pooled: true },
		// Rescaled, the mask kept as bits: in kernel memory when pooled, copied into a slot block by block when plain.
		{ method: "dare_ties", count, density: [0.8, 0.3, 1], normalize: false, rescale: true, lambda: 0.7, pooled: false },
		// Every model masked and rescaled.
		{ method: "dare_ties", count, density: [0.8, 0.3, 0.55], normalize: true, rescale: true, lambda: 1, pooled: true },
		{
			method: "dare_ties",
			count,
			density: [0.6, 0.2, 1],
			normalize: false,
			rescale: false,
			lambda: 0.7,
			pooled: false,
		},
		{ method: "breadcrumbs", count, density: [0.37, 0.5, 1], normalize: true, rescale: false, lambda: 1, pooled: true },
		{
			method: "breadcrumbs_ties",
			count,
			density: [0.6, 0.8, 1],
			normalize: false,
			rescale: false,
			lambda: 0.7,
			pooled: false,
		},
		// No outlier cut: mergekit's quirk zeroes the task vector, with a warning.
		{
			method: "breadcrumbs",
			count,
			density: [0.5, 0.5, 1],
			gamma: 1e-6,
			normalize: true,
			rescale: false,
			lambda: 1,
			pooled: true,
		},
		{ method: "task_arithmetic", count, density: [1, 1, 1], normalize: true, rescale: false, lambda: 1, pooled: true },
		{
			method: "task_arithmetic",
			count,
			density: [1, 1, 1],
			normalize: false,
			rescale: false,
			lambda: 0.7,
			pooled: false,
		},
		{ method: "dare_linear", count, density: [0.37, 1, 0.9], normalize: false, rescale: true, lambda: 1, pooled: true },
		{ method: "dare_linear", count, density: [0.8, 0.3, 1], normalize: true, rescale: true, lambda: 1, pooled: false },
		{
			method: "dare_linear",
			count,
			density: [0.6, 0.2, 1],
			normalize: true,
			rescale: false,
			lambda: 0.7,
			pooled: false,
		},
		// Every model masked and rescaled: the combining pass in one kernel (task_sum_masked).
		{
			method: "dare_linear",
			count,
			density: [0.8, 0.3, 0.55],
			normalize: false,
			rescale: true,
			lambda: 0.7,
			pooled: false,
		},
		{
			method: "della_linear",
			shape: [96, 2048],
			count,
			density: [0.37, 0.5, 0.6],
			normalize: true,
			rescale: true,
			lambda: 1,
			pooled: true,
		},
		// DELLA's lanes: rows of 2048, rows longer than a SIMD block, one lane with a partial last mask word, and rows
		// that would share mask words between threads (these take the passes).
		{
			method: "della",
			shape: [96, 2048],
			count,
			density: [0.37, 0.5, 1],
			normalize: true,
			rescale: true,
			lambda: 1,
			pooled: true,
		},
		{
			method: "della",
			shape: [6, 20000],
			count,
			density: [0.6, 0.3, 0.5],
			normalize: false,
			rescale: true,
			lambda: 0.7,
			pooled: false,
		},
		{
			method: "della_linear",
			shape: [20001],
			count,
			density: [0.5, 1, 0.37],
			normalize: false,
			rescale: true,
			lambda: 1,
			pooled: true,
		},
		{
			method: "della_linear",
			shape: [64, 1000],
			count,
			density: [0.37, 0.5, 0.6],
			normalize: true,
			rescale: false,
			lambda: 1,
			pooled: false,
		},
		{
			method: "della",
			shape: [40, 1024],
			count,
			density: [0.37, 0.5, 0.6],
			normalize: true,
			rescale: false,
			lambda: 0.7,
			pooled: false,
		},
	]);
	for (const options of cases) {
		const { method, count, normalize, rescale, lambda, pooled } = options;
		it(`${method}${options.shape ? ` [${options.shape.join(", ")}]` : ""}, ${count} models, normalize ${normalize}, rescale ${rescale}, lambda ${lambda}, ${pooled ? "pooled" : "plain"} arrays`, () => {
			setSimdEnabled(false);
			const passes = merge(options);
			setSimdEnabled(true);
			const onePass = merge(options);
			// The first element that differs, if any (a diff of the whole arrays would take minutes to print).
			const differs = onePass.bits.findIndex((bits, j) => bits !== passes.bits[j]);
			expect(differs).toBe(-1);
			expect(onePass.bits.length).toBe(passes.bits.length);
			expect(onePass.stats).toEqual(passes.stats);
			expect(onePass.warnings).toEqual(passes.warnings);
			if (method === "ties") {
				expect(onePass.stats[0]?.models[0]?.kept).toBe(Math.floor(0.37 * n));
			}
		});
	}
});

describe("the task-arithmetic family in one pass, written as bfloat16 bits", () => {
	for (const options of [
		{ method: "ties", count: 2, density: [0.37, 0.5], normalize: true, rescale: false, lambda: 1, pooled: true },
		{
			method: "task_arithmetic",
			count: 3,
			density: [1, 1, 1],
			normalize: false,
			rescale: false,
			lambda: 0.7,
			pooled: true,
		},
		{ method: "dare_ties", count: 2, density: [0.37, 1], normalize: true, rescale: true, lambda: 1, pooled: false },
		{
			method: "dare_ties",
			count: 3,
			density: [0.37, 0.6, 0.9],
			normalize: false,
			rescale: true,
			lambda: 0.7,
			pooled: true,
		},
		// The plain weighted sum after pruning (task-finish), with a ragged last block.
		{ method: "dare_linear", count: 2, density: [0.37, 1], normalize: true, rescale: true, lambda: 1, pooled: true },
		// Every model masked and rescaled (task_sum_masked), its lanes paired, and in element order.
		{
			method: "dare_linear",
			count: 3,
			density: [0.37, 0.6, 0.9],
			normalize: true,
			rescale: true,
			lambda: 1,
			pooled: true,
		},
		{
			method: "dare_linear",
			count: 2,
			density: [0.5, 0.3],
			normalize: false,
			rescale: true,
			lambda: 0.7,
			pooled: false,
		},
		{
			method: "breadcrumbs",
			count: 3,
			density: [0.37, 0.5, 0.9],
			normalize: false,
			rescale: false,
			lambda: 0.7,
			pooled: false,
		},
	] satisfies Case[]) {
		it(`${options.method}: the bits are the float32 result's, rounded, and decode to it`, () => {
			const asFloat32 = merge(options);
			const asBf16 = merge(options, true);
			expect(asBf16.writtenThere).toBe(true);
			const expected = asFloat32.bits.map((bits) =>
				f32ToBf16(new Float32Array(new Uint32Array([bits]).buffer)[0] as number),
			);
			const differs = asBf16.written?.findIndex((bits, j) => bits !== expected[j]);
			expect(differs).toBe(-1);
			// `data` decodes the bits.
			expect(asBf16.bits.findIndex((bits, j) => bits !== ((asBf16.written?.[j] ?? 0) << 16) >>> 0)).toBe(-1);
			expect(asBf16.stats).toEqual(asFloat32.stats);
		});
	}
});

describe("SCE over task vectors made block by block against the JavaScript kernels' passes", () => {
	const cases = [1, 2, 3].flatMap((count) => [
		{ count, selectTopk: 0.5, pooled: true, writeBf16: false, inputs: "bf16" },
		{ count, selectTopk: 0.37, pooled: false, writeBf16: true, inputs: "bf16" },
		{ count, selectTopk: 1, pooled: true, writeBf16: true, inputs: "bf16" },
		{ count, selectTopk: 0.6, pooled: true, writeBf16: false, inputs: "f32" },
		{ count, selectTopk: 0.45, pooled: false, writeBf16: true, inputs: "mixed" },
		{ count, selectTopk: 0.5, pooled: true, writeBf16: false, inputs: "special" },
		{ count, selectTopk: 0.001, pooled: true, writeBf16: true, inputs: "bf16" },
		{ count, selectTopk: 1, pooled: true, writeBf16: false, inputs: "faint" },
		{ count, selectTopk: 0.5, pooled: true, writeBf16: false, inputs: "wide" },
	]);
	for (const { count, selectTopk, pooled, writeBf16, inputs } of cases) {
		it(`${count} models, select_topk ${selectTopk}, ${inputs} inputs, ${pooled ? "pooled" : "plain"} arrays${writeBf16 ? ", written as bfloat16 bits" : ""}`, () => {
			const sce = (simd: boolean) => {
				setSimdEnabled(simd);
				const pool = new BufferPool(false);
				const arena = pool.arena();
				const place = placer(arena, pooled);
				// float32 inputs have no bfloat16 bits; "mixed" gives the base float32 values and the models bfloat16 bits.
				const tensor = (model: string, values: Float32Array, bf16: boolean): ModelTensor => ({
					model,
					data: place(values),
					...(bf16 ? { bf16: place(Uint16Array.from(values, (v) => f32ToBf16(v))) } : {}),
					shape: [n],
					params: {},
				});
				const baseValues = tiedBf16(1, n);
				const modelValues = [10, 11, 12].slice(0, count).map((seed) => tiedBf16(seed, n, baseValues));
				if (inputs === "special") {
					// NaN, infinities and signed zeros where every model's task vector is kept, and where one is.
					baseValues.set([-0, -0, 1, 2, -0], 40);
					modelValues.forEach((values, i) => {
						values.set([-0, i === 0 ? 0.5 : -0, Number.NaN, Number.POSITIVE_INFINITY, -1], 40 + i);
					});
				}
				if (inputs === "faint") {
					// The first model changes five elements by a little, which no other model changes: its weight is under
					// 1e-6, and there the divisor is that weight, raised to 1e-6.
					(modelValues[0] as Float32Array).set(baseValues);
					for (const j of [7, 70, 700, 7000, 9000]) {
						modelValues.forEach((values) => {
							values[j] = baseValues[j] as number;
						});
						(modelValues[0] as Float32Array)[j] = roundBf16((baseValues[j] as number) + 2 ** -12);
					}
				}
				if (inputs === "wide") {
					// float32 task vectors from 2⁻¹⁴⁹ to 2¹⁰⁰ side by side: differences that float32 cannot hold, subnormal
					// ones and ones whose squares overflow, merged as the JavaScript passes merge them.
					for (let j = 0; j < 600; j++) {
						baseValues[j] = 0;
						modelValues.forEach((values, i) => {
							const exponent = ((j * 37 + i * 101) % 250) - 149;
							values[j] = Math.fround((j % 3 === 0 ? -1 : 1) * (1 + ((j + i) % 5) / 8) * 2 ** exponent);
						});
					}
				}
				const models = modelValues.map((values, i) => tensor(`m${i}`, values, inputs !== "f32" && inputs !== "wide"));
				const ctx = {
					...context({ select_topk: selectTopk, int8_mask: false }),
					computeDtype: "BF16" as const,
					parallel: splitInto(3),
					...(pooled ? { alloc: arena } : {}),
					...(writeBf16 && simd ? { bf16Output: place(new Uint16Array(n)) } : {}),
				};
				const base = tensor("base", baseValues, inputs === "bf16" || inputs === "special");
				const result = findMergeMethod("sce")?.merge({ models, base }, ctx);
				const data = Float32Array.from(result?.data ?? []);
				const bits = writeBf16 ? Array.from(data, (v) => f32ToBf16(v)) : [...new Uint32Array(data.buffer)];
				arena.release();
				pool.close();
				return bits;
			};
			const passes = sce(false);
			const made = sce(true);
			expect(made.length).toBe(n);
			expect(made.findIndex((bits, j) => bits !== passes[j])).toBe(-1);
		});
	}
});
