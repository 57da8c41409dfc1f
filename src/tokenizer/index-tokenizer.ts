import type { AddedToken, FastTokenizer } from "./tokenizer-data.js";

const isRecord = (value: unknown): value is Record<string, unknown> =>
	typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Reads the vocabulary out of a parsed tokenizer.json: `model.vocab` as a map (BPE, WordPiece, WordLevel) or as
 * Unigram's list of `[piece, score]` (ids are positions), and `added_tokens`. Throws with a message naming what is
 * wrong.
 */
export function indexTokenizer(json: unknown): FastTokenizer {
	if (!isRecord(json) || !isRecord(json.model)) {
		throw new Error("tokenizer.json has no `model` object");
	}
	const model = json.model;
	const modelVocab = new Map<string, number>();
	let modelType = typeof model.type === "string" ? model.type : undefined;
	if (Array.isArray(model.vocab)) {
		modelType ??= "Unigram";
		for (const [id, entry] of model.vocab.entries()) {
			const piece = Array.isArray(entry) ? entry[0] : undefined;
			if (typeof piece !== "string") {
				throw new Error(`tokenizer.json's Unigram vocab entry ${id} is not a [piece, score] pair`);
			}
			if (!modelVocab.has(piece)) {
				modelVocab.set(piece, id);
			}
		}
	} else if (isRecord(model.vocab)) {
		// Old files leave out the type of a BPE model; a map with merges is one.
		modelType ??= Array.isArray(model.merges) ? "BPE" : "WordLevel";
		for (const [token, id] of Object.entries(model.vocab)) {
			if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
				throw new Error(`tokenizer.json gives token ${JSON.stringify(token)} the id ${JSON.stringify(id)}`);
			}
			modelVocab.set(token, id);
		}
	} else {
		throw new Error(`tokenizer.json's ${modelType ?? "model"} has no vocab`);
	}
	const addedTokens: AddedToken[] = [];
	const rawAdded = json.added_tokens ?? [];
	if (!Array.isArray(rawAdded)) {
		throw new Error("tokenizer.json's `added_tokens` is not a list");
	}
	for (const entry of rawAdded) {
		if (!isRecord(entry) || typeof entry.content !== "string" || typeof entry.id !== "number") {
			throw new Error(`tokenizer.json has an added token without content and id: ${JSON.stringify(entry)}`);
		}
		addedTokens.push({
			id: entry.id,
			content: entry.content,
			single_word: entry.single_word === true,
			lstrip: entry.lstrip === true,
			rstrip: entry.rstrip === true,
			normalized: entry.normalized !== false,
			special: entry.special === true,
		});
	}
	const vocab = new Map(modelVocab);
	for (const token of addedTokens) {
		vocab.set(token.content, token.id);
	}
	return { json, modelType: modelType ?? "unknown", modelVocab, addedTokens, vocab };
}
