import type { Diagnostic } from "../recipe/recipe.js";

/** `recipe.yml:3:5: error: ...`, the shape editors and CI logs link to. */
export function formatDiagnostic(file: string, diagnostic: Diagnostic): string {
	const where = diagnostic.span ? `${file}:${diagnostic.span.line}:${diagnostic.span.column}` : file;
	return `${where}: ${diagnostic.severity}: ${diagnostic.message}`;
}
