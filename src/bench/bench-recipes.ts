import type { BenchModels } from "./bench-models.js";

/** A method the bench merges, with its recipe and which target applies. */
export interface BenchRecipe {
	method: string;
	kind: "elementwise" | "selection";
	/** Which of the three models it reads. */
	inputs: readonly ("base" | "a" | "b")[];
	yaml: string;
}

function entry(path: string, parameters: string): string {
	return `  - model: ${path}\n${parameters === "" ? "" : `    parameters: {${parameters}}\n`}`;
}

/** One recipe per method the issue's targets name, each in bfloat16 over the bench's models. */
export function benchRecipes(models: BenchModels): BenchRecipe[] {
	const { base, a, b } = models;
	const head = (method: string, extra = ""): string =>
		`merge_method: ${method}\nbase_model: ${base}\ndtype: bfloat16\nrandom_seed: 7\n${extra}models:\n`;
	const two = (parameters: string): string => entry(a, parameters) + entry(b, parameters);
	const all = ["base", "a", "b"] as const;
	const pair = ["base", "a"] as const;
	return [
		{
			method: "linear",
			kind: "elementwise",
			inputs: all,
			yaml: `merge_method: linear\ndtype: bfloat16\nmodels:\n${entry(base, "weight: 0.4")}${two("weight: 0.3")}`,
		},
		{ method: "task_arithmetic", kind: "elementwise", inputs: all, yaml: head("task_arithmetic") + two("weight: 0.5") },
		{
			method: "dare_linear",
			kind: "elementwise",
			inputs: all,
			yaml: head("dare_linear") + two("weight: 0.5, density: 0.5"),
		},
		{
			method: "slerp",
			kind: "elementwise",
			inputs: pair,
			yaml: head("slerp", "parameters: {t: 0.4}\n") + entry(a, ""),
		},
		{ method: "nuslerp", kind: "elementwise", inputs: all, yaml: head("nuslerp") + two("weight: 0.5") },
		{ method: "multislerp", kind: "elementwise", inputs: all, yaml: head("multislerp") + two("weight: 0.5") },
		{
			method: "nearswap",
			kind: "elementwise",
			inputs: pair,
			yaml: head("nearswap", "parameters: {t: 0.001}\n") + entry(a, ""),
		},
		{ method: "model_stock", kind: "elementwise", inputs: all, yaml: head("model_stock") + two("") },
		{ method: "ties", kind: "selection", inputs: all, yaml: head("ties") + two("weight: 0.5, density: 0.5") },
		{
			method: "breadcrumbs",
			kind: "selection",
			inputs: all,
			yaml: head("breadcrumbs") + two("weight: 0.5, density: 0.5, gamma: 0.01"),
		},
		{
			method: "breadcrumbs_ties",
			kind: "selection",
			inputs: all,
			yaml: head("breadcrumbs_ties") + two("weight: 0.5, density: 0.5, gamma: 0.01"),
		},
		{ method: "dare_ties", kind: "selection", inputs: all, yaml: head("dare_ties") + two("weight: 0.5, density: 0.5") },
		{ method: "sce", kind: "selection", inputs: all, yaml: head("sce", "parameters: {select_topk: 0.5}\n") + two("") },
		{
			method: "della",
			kind: "selection",
			inputs: all,
			yaml: head("della") + two("weight: 0.5, density: 0.5, epsilon: 0.1"),
		},
	];
}
