import { type ParsedRecipe, type RecipeParseOptions, readRecipeDocuments } from "./read-recipe-documents.js";

/**
 * Parses one recipe (mergekit's YAML schema, spec §1) with positions for every value.
 * `recipe` comes back whenever the text is a map with a `merge_method` string, even if other
 * parts have errors, so that `validateRecipe` can report everything at once: check the
 * diagnostics for errors before planning a merge. Multi-document (multi-stage) text is an error
 * here; `parseRecipes` reads each stage.
 */
export function parseRecipe(text: string, options: RecipeParseOptions = {}): ParsedRecipe {
	const { documents, diagnostics, separatorLines } = readRecipeDocuments(text, options);
	const [only] = documents;
	if (documents.length === 1 && only !== undefined) {
		return { recipe: only.recipe, diagnostics: [...diagnostics, ...only.diagnostics] };
	}
	if (documents.length === 0) {
		if (diagnostics.length === 0) {
			diagnostics.push({
				severity: "error",
				message: "the recipe is empty; it needs at least `merge_method:` and `models:` (or `slices:`)",
				...(options.file === undefined ? {} : { file: options.file }),
			});
		}
		return { recipe: undefined, diagnostics };
	}
	const lines = separatorLines.join(", ");
	const stages = documents.filter((document) => document.recipe?.name !== undefined).length;
	const firstSeparator = separatorLines[0];
	const multiStage = {
		severity: "error" as const,
		message: `the text holds ${documents.length} YAML documents, separated by \`---\` at line${separatorLines.length > 1 ? "s" : ""} ${lines}: that is a multi-stage recipe (one stage per document${stages > 0 ? ", named by `name:`" : ", each named by `name:`"}), not a single recipe. Run it as a multi-stage recipe, or delete the \`---\` lines if it is one recipe`,
		...(firstSeparator === undefined ? {} : { span: { line: firstSeparator, column: 1 } }),
		...(options.file === undefined ? {} : { file: options.file }),
	};
	return {
		recipe: undefined,
		diagnostics: [multiStage, ...diagnostics, ...documents.flatMap((document) => document.diagnostics)],
	};
}
