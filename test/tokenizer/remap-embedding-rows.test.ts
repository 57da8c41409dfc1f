import { describe, expect, it } from "vitest";
import { dtypeRounder } from "../../src/methods/kernels/dtype-rounder.js";
import { remapEmbeddingRows } from "../../src/tokenizer/remap-embedding-rows.js";
import { tokenDefaults } from "../../src/tokenizer/token-defaults.js";
import {
	DEFAULT_MEAN,
	DEFAULT_ZERO,
	type EmbeddingRemap,
	type ExplicitTokenSource,
} from "../../src/tokenizer/tokenizer-plan.js";

/** Width 2; row r of a model is [r + offset, 10 · (r + offset)]. */
function matrix(rows: number, offset: number): { data: Float32Array; shape: number[] } {
	const data = new Float32Array(rows * 2);
	for (let r = 0; r < rows; r++) {
		data[2 * r] = r + offset;
		data[2 * r + 1] = 10 * (r + offset);
	}
	return { data, shape: [rows, 2] };
}

function remap(
	permutations: Record<string, number[]>,
	options: { rows?: number; forced?: number[]; explicit?: [number, ExplicitTokenSource][] } = {},
): EmbeddingRemap {
	const tokens = Object.values(permutations)[0]?.length ?? 0;
	const forced = new Uint8Array(tokens);
	for (const id of options.forced ?? []) {
		forced[id] = 1;
	}
	return {
		tokens,
		rows: options.rows ?? tokens,
		permutations: new Map(Object.entries(permutations).map(([key, values]) => [key, Int32Array.from(values)])),
		forced,
		explicit: new Map(options.explicit ?? []),
	};
}

const span = { line: 1, column: 1 };

describe("tokenDefaults", () => {
	it("one model has it: its row; none: zeros; the base has it: the base's; else the mean", () => {
		const plan = remap({
			base: [0, -1, -1, 3, -1],
			a: [0, 1, -1, 3, 4],
			b: [0, -1, -1, 5, 6],
		});
		const defaults = tokenDefaults(plan, ["base", "a", "b"], "base");
		expect([...defaults.source]).toEqual([0, 1, DEFAULT_ZERO, 0, DEFAULT_MEAN]);
		expect(defaults.row[1]).toBe(1);
		expect(defaults.row[3]).toBe(3);
		// Without a base_model, a token several models have takes their mean.
		expect(tokenDefaults(plan, ["base", "a", "b"], undefined).source[3]).toBe(DEFAULT_MEAN);
	});

	it("a source set in the recipe replaces the rule", () => {
		const plan = remap(
			{ a: [0, 1], b: [0, 1] },
			{
				explicit: [
					[0, { kind: "row", model: "b", row: 7, token: "x", span }],
					[1, { kind: "zero" }],
				],
			},
		);
		const defaults = tokenDefaults(plan, ["a", "b"], "a");
		expect([...defaults.source]).toEqual([1, DEFAULT_ZERO]);
		expect(defaults.row[0]).toBe(7);
	});
});

describe("remapEmbeddingRows", () => {
	it("takes each model's own row, the default where it lacks the token, and pads with the mean", () => {
		const plan = remap({ a: [2, 0, -1], b: [1, -1, 0] }, { rows: 4 });
		const inputs = new Map([
			["a", matrix(3, 0)],
			["b", matrix(2, 100)],
		]);
		const out = remapEmbeddingRows({ remap: plan, defaults: tokenDefaults(plan, ["a", "b"], "a") }, inputs, undefined);
		// Token 0: both have it (own rows). Token 1: only a (b takes a's row 0). Token 2: only b (a takes b's row 0).
		expect([...(out.get("a") ?? [])]).toEqual([2, 20, 0, 0, 100, 1000, 34, 340]);
		expect([...(out.get("b") ?? [])]).toEqual([101, 1010, 0, 0, 100, 1000, 67, 670]);
	});

	it("forces the default on every model, and averages in the merge's dtype", () => {
		const plan = remap({ a: [0, 1], b: [1, 0], c: [0, -1] }, { forced: [0] });
		const inputs = new Map([
			["a", { data: Float32Array.from([1, 1, 2, 2]), shape: [2, 2] }],
			["b", { data: Float32Array.from([3, 3, 1 / 3, 1 / 3]), shape: [2, 2] }],
			["c", { data: Float32Array.from([1.00390625, 5, 0, 0]), shape: [2, 2] }],
		]);
		const defaults = tokenDefaults(plan, ["a", "b", "c"], undefined);
		const f32 = remapEmbeddingRows({ remap: plan, defaults }, inputs, undefined);
		const mean = Math.fround(Math.fround(Math.fround(1 + Math.fround(1 / 3)) + 1.00390625) / 3);
		expect(f32.get("b")?.[0]).toBe(mean);
		expect(f32.get("c")?.[0]).toBe(mean);
		expect(f32.get("c")?.[2]).toBe(2.5);
		// bfloat16: every partial sum is rounded, as torch does it.
		const bf16 = dtypeRounder("BF16");
		const rounded = remapEmbeddingRows({ remap: plan, defaults }, inputs, bf16);
		const r = bf16 as (value: number) => number;
		expect(rounded.get("a")?.[0]).toBe(r(r(r(1 + Math.fround(1 / 3)) + 1.00390625) / 3));
	});
});
