import type { BenchModels } from "./bench-models.js";

type ModelKey = "base" | "a" | "b";
type Parameters = Readonly<Record<string, number>>;

/** A method the bench merges, with its recipe and which target applies. */
export interface BenchRecipe {
	method: string;
	kind: "elementwise" | "selection";
	/** Which of the three models it reads. */
	inputs: readonly ModelKey[];
	/** `base_model`, where the recipe names one. */
	base: ModelKey | undefined;
	/** The `models:` list, in order, with each model's parameters. */
	models: readonly { key: ModelKey; parameters: Parameters }[];
	/** The recipe's global `parameters:`. */
	parameters: Parameters;
	seed: number;
	yaml: string;
}

function flow(parameters: Parameters): string {
	return `{${Object.entries(parameters)
		.map(([key, value]) => `${key}: ${value}`)
		.join(", ")}}`;
}

function recipe(
	method: string,
	kind: BenchRecipe["kind"],
	models: BenchModels,
	shape: Pick<BenchRecipe, "base" | "models" | "parameters">,
): BenchRecipe {
	const seed = 7;
	const lines = [`merge_method: ${method}`];
	if (shape.base !== undefined) {
		lines.push(`base_model: ${models[shape.base]}`);
	}
	lines.push("dtype: bfloat16", `random_seed: ${seed}`);
	if (Object.keys(shape.parameters).length > 0) {
		lines.push(`parameters: ${flow(shape.parameters)}`);
	}
	lines.push("models:");
	for (const model of shape.models) {
		lines.push(`  - model: ${models[model.key]}`);
		if (Object.keys(model.parameters).length > 0) {
			lines.push(`    parameters: ${flow(model.parameters)}`);
		}
	}
	const keys = shape.models.map((model) => model.key);
	const inputs = shape.base === undefined || keys.includes(shape.base) ? keys : [shape.base, ...keys];
	return { method, kind, inputs, seed, yaml: `${lines.join("\n")}\n`, ...shape };
}

/** One recipe per method the issue's targets name, each in bfloat16 over the bench's models. */
export function benchRecipes(models: BenchModels): BenchRecipe[] {
	const both = (parameters: Parameters) => [
		{ key: "a" as const, parameters },
		{ key: "b" as const, parameters },
	];
	const onBase = (models: BenchRecipe["models"], parameters: Parameters = {}) => ({
		base: "base" as const,
		models,
		parameters,
	});
	const half = { weight: 0.5, density: 0.5 };
	const crumbs = { ...half, gamma: 0.01 };
	return [
		recipe("linear", "elementwise", models, {
			base: undefined,
			models: [{ key: "base", parameters: { weight: 0.4 } }, ...both({ weight: 0.3 })],
			parameters: {},
		}),
		recipe("task_arithmetic", "elementwise", models, onBase(both({ weight: 0.5 }))),
		recipe("dare_linear", "elementwise", models, onBase(both(half))),
		recipe("slerp", "elementwise", models, onBase([{ key: "a", parameters: {} }], { t: 0.4 })),
		recipe("nuslerp", "elementwise", models, onBase(both({ weight: 0.5 }))),
		recipe("multislerp", "elementwise", models, onBase(both({ weight: 0.5 }))),
		recipe("nearswap", "elementwise", models, onBase([{ key: "a", parameters: {} }], { t: 0.001 })),
		recipe("model_stock", "elementwise", models, onBase(both({}))),
		recipe("ties", "selection", models, onBase(both(half))),
		recipe("breadcrumbs", "selection", models, onBase(both(crumbs))),
		recipe("breadcrumbs_ties", "selection", models, onBase(both(crumbs))),
		recipe("dare_ties", "selection", models, onBase(both(half))),
		recipe("sce", "selection", models, onBase(both({}), { select_topk: 0.5 })),
		recipe("della", "selection", models, onBase(both({ ...half, epsilon: 0.1 }))),
	];
}
