import type { MergeMethod, ParameterDef } from "./merge-method.js";
import { readNumber } from "./read-param.js";

const SCALE: ParameterDef = {
	name: "scale",
	scope: "per-model",
	type: "number",
	required: false,
	description: "Multiply the tensor by this factor; unset means no scaling.",
};

/** Copies the single input tensor, optionally scaled: the building block of layer-stacking recipes. */
export const passthrough: MergeMethod = {
	name: "passthrough",
	displayName: "Passthrough",
	paperUrl: undefined,
	explanation:
		"Copies each tensor unchanged from the one model that provides it, optionally scaled. " +
		'It is used with slices to stack or splice layers from different models ("frankenmerges").',
	parameters: [SCALE],
	baseRole: "ignored",
	requiresBase: false,
	modelCount: { min: 1, max: 1, countsBase: false },
	shapePolicy: "strict",
	isRandomized: () => false,
	merge({ models }, context) {
		const where = `passthrough on ${context.tensorName}`;
		const only = models[0];
		if (models.length !== 1 || !only) {
			throw new Error(
				`passthrough merges exactly one tensor per output tensor, got ${models.length} for ${context.tensorName} (${models.map((tensor) => tensor.model).join(", ") || "none"}); give each slice a single source`,
			);
		}
		const data = only.data.slice();
		if (only.params.scale !== undefined) {
			const scale = readNumber(only.params, SCALE, `${where}, model ${only.model}`);
			for (let j = 0; j < data.length; j++) {
				data[j] = (data[j] as number) * scale;
			}
		}
		return { data, shape: [...only.shape] };
	},
};
