import type { MergePlan } from "../plan/merge-plan.js";

/**
 * The model task vectors are measured from, and the models that have one, in first-mention order. Methods that
 * ignore the base (passthrough), and merges without one, have no task vectors: the base is then undefined.
 */
export function reportModels(plan: MergePlan): { base: string | undefined; models: string[] } {
	const base = plan.method.baseRole === "ignored" ? undefined : plan.baseModel?.reference.key;
	if (base === undefined) {
		return { base, models: [] };
	}
	const used = new Set(plan.tensors.flatMap((tensor) => tensor.models.map((input) => input.model)));
	const models = plan.models.map((model) => model.reference.key).filter((key) => key !== base && used.has(key));
	return { base, models };
}
