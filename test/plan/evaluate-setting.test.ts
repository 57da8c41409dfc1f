import { describe, expect, it } from "vitest";
import { evaluateSetting, interpolateGradient } from "../../src/plan/evaluate-setting.js";
import type { ParameterSetting } from "../../src/recipe/recipe.js";

const span = { line: 1, column: 1 };

describe("parameter settings", () => {
	it("interpolates gradients over evenly spaced anchors (the worked 40-layer example of the spec)", () => {
		const values = [0, 0.5, 0.3, 0.7, 1];
		const at = (layer: number) => interpolateGradient(values, layer / 39);
		const expected: [number, number][] = [
			[0, 0],
			[1, 0.0513],
			[9, 0.4615],
			[10, 0.4949],
			[19, 0.3103],
			[20, 0.3205],
			[29, 0.6897],
			[38, 0.9692],
			[39, 1],
		];
		for (const [layer, value] of expected) {
			expect(at(layer)).toBeCloseTo(value, 4);
		}
	});

	it("takes the first matching filter, case-sensitively, and falls through when none matches", () => {
		const setting: ParameterSetting = {
			kind: "filtered",
			span,
			entries: [
				{ filter: "self_attn", value: { kind: "gradient", values: [0, 1], span }, span },
				{ filter: "mlp", value: { kind: "scalar", value: 0.25, span }, span },
			],
		};
		expect(evaluateSetting(setting, "model.layers.3.self_attn.q_proj.weight", 0.5)).toBe(0.5);
		expect(evaluateSetting(setting, "model.layers.3.mlp.up_proj.weight", 0.5)).toBe(0.25);
		expect(evaluateSetting(setting, "model.layers.3.MLP.up_proj.weight", 0.5)).toBeUndefined();
		expect(evaluateSetting(setting, "model.norm.weight", 0)).toBeUndefined();
	});

	it("treats a missing filter and `*` as catch-alls", () => {
		const setting: ParameterSetting = {
			kind: "filtered",
			span,
			entries: [
				{ filter: "*", value: { kind: "scalar", value: 2, span }, span },
				{ filter: undefined, value: { kind: "scalar", value: 3, span }, span },
			],
		};
		expect(evaluateSetting(setting, "anything", 0)).toBe(2);
	});
});
