import { indexTokenizer } from "./index-tokenizer.js";
import type { FastTokenizer } from "./tokenizer-data.js";

/**
 * The tokenizer without the tokens whose id is at least `vocabSize` (the config's vocabulary, so rows the model's
 * embedding does not have): removed from the vocabulary, the added tokens and, for BPE, every merge that uses or
 * makes one (mergekit's `get_stripped_tokenizer`, spec §4.2). The same object when nothing is beyond `vocabSize`.
 */
export function stripTokenizer(
	tokenizer: FastTokenizer,
	vocabSize: number,
): { tokenizer: FastTokenizer; removed: string[] } {
	const removed = [...tokenizer.vocab].filter(([, id]) => id >= vocabSize).map(([token]) => token);
	if (removed.length === 0) {
		return { tokenizer, removed };
	}
	const unused = new Set(removed);
	const json = structuredClone(tokenizer.json);
	const model = json.model as Record<string, unknown>;
	if (Array.isArray(model.vocab)) {
		// Unigram ids are list positions, so the tokens at or beyond vocabSize are the list's tail.
		model.vocab = model.vocab.slice(0, vocabSize);
	} else {
		const vocab = model.vocab as Record<string, unknown>;
		for (const token of unused) {
			delete vocab[token];
		}
	}
	if (Array.isArray(model.merges)) {
		model.merges = model.merges.filter((merge: unknown) => {
			const parts = typeof merge === "string" ? merge.split(" ") : Array.isArray(merge) ? merge : [];
			// A merge into a removed token would make the file unloadable, so it goes too (mergekit keeps it).
			return !parts.some((part) => typeof part === "string" && unused.has(part)) && !unused.has(parts.join(""));
		});
	}
	if (Array.isArray(json.added_tokens)) {
		json.added_tokens = json.added_tokens.filter(
			(entry: unknown) =>
				typeof (entry as { id?: unknown }).id === "number" && (entry as { id: number }).id < vocabSize,
		);
	}
	return { tokenizer: indexTokenizer(json), removed };
}
