import { parseRecipe } from "../recipe/parse-recipe.js";
import type { Recipe } from "../recipe/recipe.js";
import { validateRecipe } from "../recipe/validate-recipe.js";
import { formatDiagnostic } from "./format-diagnostic.js";
import type { Output } from "./progress-printer.js";
import { readRecipeText } from "./read-recipe-text.js";

/**
 * Reads, parses and validates a recipe file, printing every diagnostic with its file:line:column.
 * Undefined when the recipe has errors.
 */
export async function readRecipeFile(file: string, stderr: Output): Promise<Recipe | undefined> {
	const read = await readRecipeText(file, stderr);
	if (read === undefined) {
		return undefined;
	}
	const { recipe, diagnostics } = parseRecipe(read.text, { file, lineOffset: read.lineOffset });
	const all = recipe ? [...diagnostics, ...validateRecipe(recipe)] : diagnostics;
	for (const diagnostic of all) {
		stderr.write(`${formatDiagnostic(file, diagnostic)}\n`);
	}
	return recipe && !all.some((diagnostic) => diagnostic.severity === "error") ? recipe : undefined;
}
