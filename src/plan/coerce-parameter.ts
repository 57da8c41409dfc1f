import type { ParameterDef, ParameterValue } from "../methods/merge-method.js";
import type { Scalar } from "../recipe/recipe.js";

/**
 * Turns a recipe scalar into the parameter's type the way pydantic does for mergekit: numeric strings become
 * numbers, booleans become 1/0 where a number is expected, 0/1 and "true"/"false" become booleans.
 * Undefined when the value cannot be read as that type.
 */
export function coerceParameter(def: ParameterDef, value: Scalar): ParameterValue | undefined {
	if (def.type === "boolean") {
		if (typeof value === "boolean") {
			return value;
		}
		if (value === 0 || value === 1) {
			return value === 1;
		}
		if (typeof value === "string" && /^(true|false|yes|no|on|off|1|0)$/i.test(value.trim())) {
			return /^(true|yes|on|1)$/i.test(value.trim());
		}
		return undefined;
	}
	let number: number;
	if (typeof value === "boolean") {
		number = value ? 1 : 0;
	} else if (typeof value === "string") {
		const trimmed = value.trim();
		number = trimmed === "" ? Number.NaN : Number(trimmed);
	} else {
		number = value;
	}
	if (!Number.isFinite(number) || (def.type === "integer" && !Number.isInteger(number))) {
		return undefined;
	}
	return number;
}
