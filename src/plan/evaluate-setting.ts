import type { ParameterSetting, Scalar } from "../recipe/recipe.js";

/**
 * A parameter setting's value for one tensor (spec §1.7): scalars as they are; gradients interpolated
 * piecewise-linearly over evenly spaced anchors at position t; filter lists by their first entry whose filter is
 * absent, `*`, or a case-sensitive substring of the tensor name. Undefined when no filter matches, so that the
 * caller falls through to the next precedence level.
 */
export function evaluateSetting(setting: ParameterSetting, tensorName: string, t: number): Scalar | undefined {
	switch (setting.kind) {
		case "scalar":
			return setting.value;
		case "gradient":
			return interpolateGradient(setting.values, t);
		case "filtered":
			for (const entry of setting.entries) {
				if (entry.filter === undefined || entry.filter === "*" || tensorName.includes(entry.filter)) {
					return evaluateSetting(entry.value, tensorName, t);
				}
			}
			return undefined;
	}
}

export function interpolateGradient(values: readonly number[], t: number): number {
	const last = values.length - 1;
	const position = t * last;
	const lower = Math.floor(position);
	const upper = Math.min(last, lower + 1);
	const fraction = position - lower;
	return (1 - fraction) * (values[lower] as number) + fraction * (values[upper] as number);
}
