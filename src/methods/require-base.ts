import { assertSameShapes } from "./check-shapes.js";
import { copyTensor } from "./copy-tensor.js";
import type { MergeInputs, ModelTensor } from "./merge-method.js";
import { nonBaseModels } from "./non-base-models.js";
import type { Operands } from "./operands.js";

/**
 * The base tensor and the other models of a method that uses the base as a reference: throws when the base's tensor
 * is missing (`reason` says what to do about it) and unless every input has the base's shape.
 */
export function requireBase(
	inputs: MergeInputs,
	where: string,
	reason = "set base_model to a model that has it",
): { base: ModelTensor; models: ModelTensor[] } {
	const { base } = inputs;
	if (!base) {
		throw new Error(`${where}: the base model's tensor is required but not present; ${reason}`);
	}
	const models = nonBaseModels(inputs);
	assertSameShapes(where, [base, ...models]);
	return { base, models };
}

/**
 * requireBase for a method of the base and one other model (the caller has checked there is at most one): the two,
 * or the base's copy when no other model has the tensor.
 */
export function requireBaseAndOther(
	inputs: MergeInputs,
	where: string,
): Operands<{ base: ModelTensor; other: ModelTensor }> {
	const {
		base,
		models: [other],
	} = requireBase(inputs, where);
	return other ? { base, other } : { done: copyTensor(base) };
}
