import type { MergePlan, PlannedTensor } from "../plan/merge-plan.js";

/**
 * What each model's weight amounts to on one tensor, after normalisation and `lambda`: the factor its task vector
 * (or, for linear, its weights) enters the result with. With sign election the divisor is per element; these are
 * the values where every model agrees. Undefined for methods without per-model weights.
 */
export function effectiveWeights(plan: MergePlan, tensor: PlannedTensor): Map<string, number> | undefined {
	const { method } = plan;
	if (!method.parameters.some((def) => def.name === "weight" && def.scope === "per-model")) {
		return undefined;
	}
	const weights = tensor.models.map((input) => ({
		model: input.model,
		weight: typeof input.params.weight === "number" ? input.params.weight : 0,
	}));
	const normalizeFlag = tensor.params.normalize ?? tensor.params.normalize_weights;
	// nuslerp has no flag: its t = w₂/(w₁ + w₂) always normalises.
	const normalize = normalizeFlag === undefined ? method.name === "nuslerp" : normalizeFlag === true;
	const lambda = typeof tensor.params.lambda === "number" ? tensor.params.lambda : 1;
	const sum = weights.reduce((total, entry) => total + entry.weight, 0);
	const divisor = normalize && Math.abs(sum) > 1e-8 ? sum : 1;
	return new Map(weights.map((entry) => [entry.model, (entry.weight / divisor) * lambda]));
}
