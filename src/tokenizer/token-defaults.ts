import { DEFAULT_MEAN, DEFAULT_ZERO, type EmbeddingRemap, type TokenDefaults } from "./tokenizer-plan.js";

/**
 * Each token's default row for one set of models (mergekit's `assign_embedding_sources`, spec §4.3): a source set in
 * the recipe; else the one model that has the token; zeros when none has it; the base's row when the base has it;
 * else the mean of the rows of the models that have it. Explicit sources must name one of `models`.
 */
export function tokenDefaults(
	remap: EmbeddingRemap,
	models: readonly string[],
	base: string | undefined,
): TokenDefaults {
	const source = new Int32Array(remap.tokens);
	const row = new Int32Array(remap.tokens).fill(-1);
	const permutations = models.map((model) => {
		const permutation = remap.permutations.get(model);
		if (permutation === undefined) {
			throw new Error(`no token permutation for ${model}`);
		}
		return permutation;
	});
	const baseIndex = base === undefined ? -1 : models.indexOf(base);
	for (let id = 0; id < remap.tokens; id++) {
		const explicit = remap.explicit.get(id);
		if (explicit !== undefined) {
			if (explicit.kind === "zero") {
				source[id] = DEFAULT_ZERO;
			} else {
				source[id] = models.indexOf(explicit.model);
				row[id] = explicit.row;
			}
			continue;
		}
		let present = 0;
		let only = -1;
		for (const [index, permutation] of permutations.entries()) {
			if ((permutation[id] as number) >= 0) {
				present++;
				only = index;
			}
		}
		if (present === 1) {
			source[id] = only;
			row[id] = permutations[only]?.[id] as number;
		} else if (present === 0) {
			source[id] = DEFAULT_ZERO;
		} else if (baseIndex >= 0 && (permutations[baseIndex]?.[id] as number) >= 0) {
			source[id] = baseIndex;
			row[id] = permutations[baseIndex]?.[id] as number;
		} else {
			source[id] = DEFAULT_MEAN;
		}
	}
	return { models, source, row };
}
