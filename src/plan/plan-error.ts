import type { SourceSpan } from "../recipe/recipe.js";

/** A recipe that cannot be planned against its models: says where in the recipe, what is wrong and what to do. */
export class PlanError extends Error {
	readonly span: SourceSpan | undefined;

	constructor(message: string, span?: SourceSpan) {
		super(span ? `line ${span.line}: ${message}` : message);
		this.name = "PlanError";
		this.span = span;
	}
}
