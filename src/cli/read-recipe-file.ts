import { readFile } from "node:fs/promises";
import { findRecipeInText } from "../recipe/find-recipe-in-text.js";
import { parseRecipe } from "../recipe/parse-recipe.js";
import type { Recipe } from "../recipe/recipe.js";
import { validateRecipe } from "../recipe/validate-recipe.js";
import { formatDiagnostic } from "./format-diagnostic.js";
import type { Output } from "./progress-printer.js";

/**
 * Reads, parses and validates a recipe file, printing every diagnostic with its file:line:column.
 * Undefined when the recipe has errors.
 */
export async function readRecipeFile(file: string, stderr: Output): Promise<Recipe | undefined> {
	let text: string;
	try {
		text = await readFile(file, "utf8");
	} catch (error) {
		stderr.write(
			`${file}: cannot read the recipe (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})\n`,
		);
		return undefined;
	}
	let lineOffset = 0;
	if (/^(```|~~~)/m.test(text)) {
		// A recipe saved from a chat or a model card, inside a code fence with prose around it.
		const found = findRecipeInText(text);
		if (!found.ok) {
			stderr.write(`${formatDiagnostic(file, found.error)}\n`);
			return undefined;
		}
		text = found.text;
		lineOffset = found.lineOffset;
	}
	const { recipe, diagnostics } = parseRecipe(text, { file, lineOffset });
	const all = recipe ? [...diagnostics, ...validateRecipe(recipe)] : diagnostics;
	for (const diagnostic of all) {
		stderr.write(`${formatDiagnostic(file, diagnostic)}\n`);
	}
	return recipe && !all.some((diagnostic) => diagnostic.severity === "error") ? recipe : undefined;
}
