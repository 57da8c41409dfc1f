import type { PlannedInput } from "../plan/merge-plan.js";
import { PlanError } from "../plan/plan-error.js";
import type { SourceSpan } from "../recipe/recipe.js";
import { tokenDefaults } from "./token-defaults.js";
import type { EmbeddingRemap, EmbeddingRows, TokenDefaults } from "./tokenizer-plan.js";

/**
 * Checks one embedding tensor's inputs against the output vocabulary and gives what the executor needs to remap them:
 * every input must be a matrix of the same width whose rows cover what its tokenizer points at, and models named as
 * token sources must have this tensor. `cache` shares the default rows between tensors with the same models.
 */
export function planEmbeddingRows(params: {
	remap: EmbeddingRemap;
	tensorName: string;
	inputs: readonly PlannedInput[];
	base: string | undefined;
	cache: Map<string, TokenDefaults>;
	span: SourceSpan | undefined;
}): { rows: EmbeddingRows; shape: [number, number] } {
	const { remap, tensorName, inputs, span } = params;
	const widths = new Set(inputs.map((input) => input.stored.shape[1]));
	const [width] = widths;
	if (widths.size !== 1 || width === undefined || inputs.some((input) => input.stored.shape.length !== 2)) {
		const shapes = inputs.map((input) => `${input.model} ${JSON.stringify(input.stored.shape)}`).join(", ");
		throw new PlanError(
			`${tensorName}: embedding matrices must all have the same width to be remapped onto one vocabulary (${shapes})`,
			span,
		);
	}
	const storedRows = new Map(inputs.map((input) => [input.model, input.stored.shape[0] as number]));
	for (const input of inputs) {
		const permutation = remap.permutations.get(input.model);
		const rows = storedRows.get(input.model) as number;
		let furthest = -1;
		for (const row of permutation ?? []) {
			furthest = Math.max(furthest, row);
		}
		if (furthest >= rows) {
			throw new PlanError(
				`${tensorName}: ${input.model}'s tokenizer puts a token at row ${furthest}, but its ${tensorName} has ${rows} rows; is its config's vocab_size right?`,
				span,
			);
		}
	}
	for (const explicit of remap.explicit.values()) {
		if (explicit.kind !== "row") {
			continue;
		}
		const rows = storedRows.get(explicit.model);
		if (rows === undefined) {
			throw new PlanError(
				`token ${JSON.stringify(explicit.token)} takes its embedding from ${explicit.model}, which has no ${tensorName} to take it from`,
				explicit.span,
			);
		}
		if (explicit.row >= rows) {
			throw new PlanError(
				`token ${JSON.stringify(explicit.token)} takes row ${explicit.row} of ${explicit.model}'s ${tensorName}, which has ${rows} rows`,
				explicit.span,
			);
		}
	}
	const models = inputs.map((input) => input.model);
	const key = JSON.stringify([params.base ?? null, ...models]);
	let defaults = params.cache.get(key);
	if (defaults === undefined) {
		defaults = tokenDefaults(remap, models, params.base);
		params.cache.set(key, defaults);
	}
	return { rows: { remap, defaults }, shape: [remap.rows, width] };
}
