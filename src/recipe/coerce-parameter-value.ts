import type { ParameterDef, ParameterValue } from "../methods/merge-method.js";
import { parseNumericString } from "./parse-numeric-string.js";
import type { Scalar } from "./recipe.js";

export type CoercedParameterValue = { ok: true; value: ParameterValue } | { ok: false; expected: string };

/**
 * A recipe scalar as the parameter's type, the lenient way pydantic reads mergekit recipes:
 * numeric strings become numbers, `true`/`false` become 1/0 where a number is expected, and
 * 0/1, `"true"`/`"false"` and YAML 1.1's `yes`/`no`/`on`/`off` become booleans. The parser has
 * already turned numeric strings into numbers; the planner calls this on every value it resolves.
 */
export function coerceParameterValue(value: Scalar, def: ParameterDef): CoercedParameterValue {
	if (def.type === "boolean") {
		if (typeof value === "boolean") {
			return { ok: true, value };
		}
		if (value === 0 || value === 1) {
			return { ok: true, value: value === 1 };
		}
		if (typeof value === "string") {
			const word = value.trim().toLowerCase();
			if (["true", "yes", "on", "1"].includes(word)) {
				return { ok: true, value: true };
			}
			if (["false", "no", "off", "0"].includes(word)) {
				return { ok: true, value: false };
			}
		}
		return { ok: false, expected: "true or false" };
	}
	const number =
		typeof value === "boolean" ? (value ? 1 : 0) : typeof value === "string" ? parseNumericString(value) : value;
	if (number === undefined || !Number.isFinite(number)) {
		return { ok: false, expected: def.type === "integer" ? "a whole number" : "a number" };
	}
	if (def.type === "integer" && !Number.isInteger(number)) {
		return { ok: false, expected: "a whole number" };
	}
	return { ok: true, value: number };
}
