import type { MergePlan } from "../../src/plan/merge-plan.js";
import { planMerge } from "../../src/plan/plan-merge.js";
import { parseRecipe } from "../../src/recipe/parse-recipe.js";
import { loadRecipeModels } from "../../src/run-merge.js";

/** The plan of a recipe's text over local models, seed 1, as a merge makes it before reading any weight. */
export async function planRecipe(text: string): Promise<MergePlan> {
	const { recipe } = parseRecipe(text);
	if (!recipe) {
		throw new Error(`the test's recipe does not parse:\n${text}`);
	}
	const loading = loadRecipeModels(recipe);
	let step = await loading.next();
	while (!step.done) {
		step = await loading.next();
	}
	return planMerge(recipe, step.value, { seed: 1 });
}
