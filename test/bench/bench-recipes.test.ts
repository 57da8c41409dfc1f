import { describe, expect, it } from "vitest";
import { benchRecipes } from "../../src/bench/bench-recipes.js";
import { parseRecipe } from "../../src/recipe/parse-recipe.js";
import type { Parameters } from "../../src/recipe/recipe.js";
import { validateRecipe } from "../../src/recipe/validate-recipe.js";

const models = { base: "/models/base", a: "/models/a", b: "/models/b", parameters: 1 };

function scalars(parameters: Parameters): Record<string, unknown> {
	return Object.fromEntries(
		Object.entries(parameters).map(([key, setting]) => [key, setting.kind === "scalar" ? setting.value : setting]),
	);
}

// The PyTorch reference reads a recipe's structured form; the merge reads its YAML. They must be the same merge.
describe("the bench's recipes", () => {
	for (const recipe of benchRecipes(models)) {
		it(`${recipe.method}: the YAML is a valid recipe with the models and parameters the reference is given`, () => {
			const { recipe: parsed, diagnostics } = parseRecipe(recipe.yaml);
			expect(diagnostics).toEqual([]);
			if (parsed === undefined) {
				throw new Error("no recipe parsed");
			}
			expect(validateRecipe(parsed).filter((d) => d.severity === "error")).toEqual([]);
			expect(parsed.mergeMethod).toBe(recipe.method);
			expect(parsed.baseModel?.model.path).toBe(recipe.base === undefined ? undefined : models[recipe.base]);
			expect(parsed.randomSeed).toBe(recipe.seed);
			expect(parsed.dtype).toBe("bfloat16");
			expect(scalars(parsed.parameters)).toEqual(recipe.parameters);
			expect(
				parsed.models?.map((model) => ({ path: model.model.model.path, parameters: scalars(model.parameters) })),
			).toEqual(recipe.models.map((model) => ({ path: models[model.key], parameters: model.parameters })));
			const read = new Set([...(recipe.base === undefined ? [] : [recipe.base]), ...recipe.models.map((m) => m.key)]);
			expect(new Set(recipe.inputs)).toEqual(read);
		});
	}
});
