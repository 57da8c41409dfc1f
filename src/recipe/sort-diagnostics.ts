import type { Diagnostic } from "./recipe.js";

/** Diagnostics in reading order (line, then column); those tied to no place come first. Stable for equal places. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
	const place = (diagnostic: Diagnostic): number =>
		diagnostic.span === undefined ? -1 : diagnostic.span.line * 100_000 + diagnostic.span.column;
	return [...diagnostics].sort((a, b) => place(a) - place(b));
}
