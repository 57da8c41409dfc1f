/**
 * For each output token id, the row of that token in one model's embedding, or −1 where the model does not have the
 * token (mergekit's per-model permutation, spec §4.2). A token whose id in the model is at or beyond the model's
 * vocab_size has no row there either; those come back in `beyond`.
 */
export function embeddingPermutation(
	outputTokens: readonly string[],
	modelVocab: ReadonlyMap<string, number>,
	vocabSize: number,
): { permutation: Int32Array; beyond: string[] } {
	const permutation = new Int32Array(outputTokens.length).fill(-1);
	const beyond: string[] = [];
	for (const [id, token] of outputTokens.entries()) {
		const row = modelVocab.get(token);
		if (row === undefined) {
			continue;
		}
		if (row >= vocabSize) {
			beyond.push(token);
			continue;
		}
		permutation[id] = row;
	}
	return { permutation, beyond };
}
