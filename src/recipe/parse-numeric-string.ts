/** Decimal numbers as Python's float() reads them (`0.5`, `.5`, `1e-5`, `1_000`), but no inf or nan. */
const NUMERIC = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;

/**
 * The number a string spells, or undefined. pydantic turns numeric strings into floats, and
 * PyYAML (YAML 1.1) reads `1e-5` as a string, so recipes on the Hub rely on this (spec §1.1).
 */
export function parseNumericString(text: string): number | undefined {
	const trimmed = text.trim();
	if (!NUMERIC.test(trimmed)) {
		return undefined;
	}
	const value = Number(trimmed.replaceAll("_", ""));
	return Number.isFinite(value) ? value : undefined;
}
