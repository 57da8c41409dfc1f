import { type ParsedRecipe, type RecipeParseOptions, readRecipeDocuments } from "./read-recipe-documents.js";

/**
 * Parses a multi-document recipe (`mergekit-multi` style: stages separated by `---`, each with
 * `name:`), one result per non-empty document. Problems with the text as a whole (size) come back
 * as a single result with no recipe.
 */
export function parseRecipes(text: string, options: RecipeParseOptions = {}): ParsedRecipe[] {
	const { documents, diagnostics } = readRecipeDocuments(text, options);
	if (diagnostics.length === 0 && documents.length === 0) {
		diagnostics.push({
			severity: "error",
			message: "the recipe is empty; it needs at least `merge_method:` and `models:` (or `slices:`)",
			...(options.file === undefined ? {} : { file: options.file }),
		});
	}
	if (diagnostics.length > 0) {
		return [{ recipe: undefined, diagnostics }, ...documents];
	}
	return documents;
}
