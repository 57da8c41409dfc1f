import { orderStages, type RecipeStage } from "../plan/order-stages.js";
import { parseRecipes } from "../recipe/parse-recipes.js";
import type { Diagnostic, Recipe } from "../recipe/recipe.js";
import { validateRecipe } from "../recipe/validate-recipe.js";
import { formatDiagnostic } from "./format-diagnostic.js";
import type { Output } from "./progress-printer.js";
import { readRecipeText } from "./read-recipe-text.js";

export interface RecipeStages {
	/** In run order, the final stage last; a plain recipe is one final stage. */
	stages: RecipeStage[];
	/** The recipe text as read (out of its code fence). */
	source: string;
}

/**
 * Reads a recipe file that may hold several stages (mergekit-multi's YAML documents separated by `---`), and checks
 * every stage and their order before anything runs, printing each diagnostic with its file:line:column.
 * Undefined when there is an error.
 */
export async function readRecipeStages(file: string, stderr: Output): Promise<RecipeStages | undefined> {
	const read = await readRecipeText(file, stderr);
	if (read === undefined) {
		return undefined;
	}
	const documents = parseRecipes(read.text, { file, lineOffset: read.lineOffset });
	const diagnostics: Diagnostic[] = [];
	const recipes: Recipe[] = [];
	for (const document of documents) {
		diagnostics.push(...document.diagnostics);
		if (document.recipe) {
			recipes.push(document.recipe);
			diagnostics.push(...validateRecipe(document.recipe));
		}
	}
	let stages: RecipeStage[] = [];
	const [only] = recipes;
	if (documents.length === 1 && only !== undefined) {
		stages = [{ name: only.name, recipe: only, dependsOn: [], final: true }];
	} else if (!diagnostics.some((diagnostic) => diagnostic.severity === "error")) {
		const ordered = orderStages(recipes);
		diagnostics.push(...ordered.diagnostics);
		stages = ordered.stages;
	}
	for (const diagnostic of diagnostics) {
		stderr.write(`${formatDiagnostic(file, diagnostic)}\n`);
	}
	if (diagnostics.some((diagnostic) => diagnostic.severity === "error") || stages.length === 0) {
		return undefined;
	}
	return { stages, source: read.text };
}
