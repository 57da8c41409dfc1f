import { assertSameShapes } from "./check-shapes.js";
import type { MergeInputs, ModelTensor } from "./merge-method.js";
import { nonBaseModels } from "./non-base-models.js";

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
