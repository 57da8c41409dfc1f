import type { MergeInputs, ModelTensor } from "./merge-method.js";

/**
 * The models other than the base: a reference method never merges the base with itself, even if a caller
 * left it among the models (mergekit keys inputs by model, so the base appears once).
 */
export function nonBaseModels(inputs: MergeInputs): ModelTensor[] {
	const base = inputs.base;
	return base ? inputs.models.filter((tensor) => tensor.model !== base.model) : [...inputs.models];
}
