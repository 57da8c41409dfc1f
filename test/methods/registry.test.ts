import { describe, expect, it } from "vitest";
import type { ParameterDef } from "../../src/methods/merge-method.js";
import { findMergeMethod, MERGE_METHODS } from "../../src/methods/registry.js";

/** spec §5.5: card label and URL of every method, in the registry order of §2.0. */
const CARD: [string, string, string | undefined][] = [
	["linear", "Linear", "https://arxiv.org/abs/2203.05482"],
	["slerp", "SLERP", "https://en.wikipedia.org/wiki/Slerp"],
	["nuslerp", "NuSLERP", undefined],
	["passthrough", "Passthrough", undefined],
	["model_stock", "Model Stock", "https://arxiv.org/abs/2403.19522"],
	["arcee_fusion", "Arcee Fusion", "https://arcee.ai"],
	["karcher", "Karcher Mean", "https://en.wikipedia.org/wiki/Karcher_mean"],
	["task_arithmetic", "Task Arithmetic", "https://arxiv.org/abs/2212.04089"],
	["ties", "TIES", "https://arxiv.org/abs/2306.01708"],
	["dare_ties", "DARE TIES", "https://arxiv.org/abs/2311.03099"],
	["dare_linear", "Linear DARE", "https://arxiv.org/abs/2311.03099"],
	["breadcrumbs", "Model Breadcrumbs", "https://arxiv.org/abs/2312.06795"],
	["breadcrumbs_ties", "Model Breadcrumbs with TIES", "https://arxiv.org/abs/2312.06795"],
	["della", "DELLA", "https://arxiv.org/abs/2406.11617"],
	["della_linear", "Linear DELLA", "https://arxiv.org/abs/2406.11617"],
	["multislerp", "Multi-SLERP", "https://goddard.blog/posts/multislerp-wow-what-a-cool-idea"],
	["nearswap", "NearSwap", "https://huggingface.co/alchemonaut/QuartetAnemoi-70B-t0.0001"],
	["sce", "SCE", "https://arxiv.org/abs/2408.07990"],
	["ram", "Reinforced Agent Merging", "https://arxiv.org/abs/2601.13572"],
	["ramplus_tl", "Reinforced Agent Merging Plus (Tensor-Local)", "https://arxiv.org/abs/2601.13572"],
];

/** spec §1.8: "G name=default", "M name=default", "req" for required, "none" for no default. */
const TA = (normalize: boolean, rescale: boolean, extra: string[] = []) => [
	"M weight=req",
	"M density=1",
	...extra,
	`G normalize=${normalize}`,
	`G rescale=${rescale}`,
	"G int8_mask=false",
	"G lambda=1",
];
const PARAMETERS: Record<string, string[]> = {
	linear: ["M weight=req", "G normalize=true"],
	slerp: ["G t=req"],
	nuslerp: ["M weight=req", "G nuslerp_flatten=true", "G nuslerp_row_wise=false"],
	passthrough: ["M scale=none"],
	model_stock: ["G filter_wise=false"],
	arcee_fusion: [],
	karcher: ["G max_iter=10", "G tol=0.00001"],
	task_arithmetic: TA(false, false),
	ties: TA(true, false),
	dare_ties: TA(false, true),
	dare_linear: TA(false, true),
	breadcrumbs: TA(false, false, ["M gamma=0.01"]),
	breadcrumbs_ties: TA(false, false, ["M gamma=0.01"]),
	della: TA(true, true, ["M epsilon=0.15"]),
	della_linear: TA(false, true, ["M epsilon=0.15"]),
	multislerp: ["M weight=req", "G normalize_weights=true", "G eps=1e-8"],
	nearswap: ["G t=req"],
	sce: ["G select_topk=1", "G int8_mask=false"],
	ram: ["G epsilon=0.00001"],
	ramplus_tl: ["G r=0.1", "G alpha=0.2", "G epsilon=0.00001"],
};

function describeParameter(def: ParameterDef): string {
	const scope = def.scope === "global" ? "G" : "M";
	const value = def.required ? "req" : def.default === undefined ? "none" : String(def.default);
	return `${scope} ${def.name}=${value}`;
}

describe("the merge method registry", () => {
	it("holds mergekit's 20 methods in registry order, with the card's labels and URLs", () => {
		expect(MERGE_METHODS.map((method) => [method.name, method.displayName, method.paperUrl])).toEqual(CARD);
	});

	it("declares every parameter of spec §1.8 with its scope and default", () => {
		for (const method of MERGE_METHODS) {
			expect(method.parameters.map(describeParameter), method.name).toEqual(PARAMETERS[method.name]);
			for (const def of method.parameters) {
				expect(def.required === true && def.default !== undefined, `${method.name}.${def.name}`).toBe(false);
				expect(def.description.length).toBeGreaterThan(10);
			}
		}
	});

	it("finds methods by name", () => {
		expect(findMergeMethod("ties")?.displayName).toBe("TIES");
		expect(findMergeMethod("consensus_ties")).toBeUndefined();
	});

	it("explains every method in one to three sentences", () => {
		for (const method of MERGE_METHODS) {
			const sentences = method.explanation.split(/(?<=[.!?])\s+/).filter(Boolean);
			expect(sentences.length, method.name).toBeGreaterThanOrEqual(1);
			expect(sentences.length, method.name).toBeLessThanOrEqual(3);
		}
	});

	it("treats the base model as spec §2.0.1 says", () => {
		const roles = Object.fromEntries(
			MERGE_METHODS.map((method) => [method.name, [method.baseRole, method.requiresBase]]),
		);
		expect(roles.linear).toEqual(["input", false]);
		expect(roles.karcher).toEqual(["input", false]);
		expect(roles.passthrough).toEqual(["ignored", false]);
		expect(roles.nuslerp).toEqual(["optional-reference", false]);
		expect(roles.multislerp).toEqual(["optional-reference", false]);
		for (const name of [
			"slerp",
			"arcee_fusion",
			"model_stock",
			"ties",
			"della",
			"sce",
			"ram",
			"ramplus_tl",
			"nearswap",
		]) {
			expect(roles[name], name).toEqual(["reference", true]);
		}
	});

	it("applies the shape policies of spec §2.0.2", () => {
		const policy = (name: string) => findMergeMethod(name)?.shapePolicy;
		for (const name of ["task_arithmetic", "ties", "dare_linear", "breadcrumbs", "della_linear"]) {
			expect(policy(name)).toBe("crop-to-base");
		}
		for (const name of ["linear", "slerp", "nuslerp", "model_stock", "arcee_fusion"]) {
			expect(policy(name)).toBe("common-submatrix");
		}
		for (const name of ["karcher", "multislerp", "sce", "nearswap", "ram", "ramplus_tl", "passthrough"]) {
			expect(policy(name)).toBe("strict");
		}
	});

	it("declares the ranges the validator checks", () => {
		const range = (method: string, name: string) =>
			findMergeMethod(method)?.parameters.find((def) => def.name === name)?.range;
		expect(range("ties", "density")).toEqual({ min: 0, max: 1, minExclusive: true });
		expect(range("breadcrumbs", "gamma")).toEqual({ min: 0, max: 1, maxExclusive: true });
		expect(range("della", "epsilon")).toEqual({ min: 0, max: 1, maxExclusive: true });
		expect(range("sce", "select_topk")).toEqual({ min: 0, max: 1, minExclusive: true });
		expect(range("slerp", "t")).toBeUndefined();
		expect(range("nearswap", "t")).toEqual({ min: 0, minExclusive: true });
		expect(range("karcher", "max_iter")).toEqual({ min: 1 });
		expect(range("karcher", "tol")).toEqual({ min: 0, minExclusive: true });
		expect(range("multislerp", "eps")).toEqual({ min: 0, minExclusive: true });
		expect(range("ramplus_tl", "r")).toEqual({ min: 0 });
		expect(range("ramplus_tl", "alpha")).toEqual({ min: 0 });
		expect(findMergeMethod("karcher")?.parameters.find((def) => def.name === "max_iter")?.type).toBe("integer");
	});
});
