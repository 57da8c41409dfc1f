import type { ParameterDef, ParameterValue } from "./merge-method.js";

type Params = Readonly<Record<string, ParameterValue>>;

/**
 * Reads a resolved numeric parameter, falling back to the declared default. `where` names the merge, tensor
 * and (for per-model parameters) model, so a missing value can be traced to the recipe.
 */
export function readNumber(params: Params, def: ParameterDef, where: string): number {
	const value = params[def.name] ?? def.default;
	if (value === undefined) {
		throw new Error(`${where}: parameter ${def.name} is not set; ${whereToSet(def)}`);
	}
	if (typeof value !== "number" || Number.isNaN(value)) {
		throw new Error(`${where}: parameter ${def.name} must be a number, got ${String(value)}`);
	}
	return value;
}

/** Reads a resolved boolean parameter, falling back to the declared default. */
export function readBoolean(params: Params, def: ParameterDef, where: string): boolean {
	const value = params[def.name] ?? def.default;
	if (typeof value !== "boolean") {
		throw new Error(
			value === undefined
				? `${where}: parameter ${def.name} is not set; ${whereToSet(def)}`
				: `${where}: parameter ${def.name} must be true or false, got ${String(value)}`,
		);
	}
	return value;
}

function whereToSet(def: ParameterDef): string {
	return def.scope === "per-model"
		? `set ${def.name} under this model's parameters (or in the top-level parameters for every model)`
		: `set ${def.name} in the recipe's top-level parameters`;
}
