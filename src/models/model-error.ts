import type { SourceSpan } from "../recipe/recipe.js";

/** A model a recipe names that cannot be used: says which reference, where in the recipe, and what to do. */
export class ModelError extends Error {
	readonly reference: string;
	readonly span: SourceSpan | undefined;

	constructor(reference: string, message: string, span?: SourceSpan) {
		super(`${span ? `line ${span.line}: ` : ""}model ${reference}: ${message}`);
		this.name = "ModelError";
		this.reference = reference;
		this.span = span;
	}
}
