import { indexTokenizer } from "./index-tokenizer.js";
import type { AddedToken, FastTokenizer } from "./tokenizer-data.js";

export type NewToken = Omit<AddedToken, "id">;

/** An ordinary token added by text, as transformers' `add_tokens("...")` makes it. */
export function plainAddedToken(content: string): NewToken {
	return { content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: false };
}

/**
 * Adds tokens the way the `tokenizers` library's `add_tokens` does: a new token takes the next id after the model
 * vocabulary and the added tokens so far; a token already in the vocabulary keeps its id, and with `registerExisting`
 * it becomes (or replaces) an added token with the given settings, as `add_tokens` of an `AddedToken` does. Returns
 * the same object when nothing changes.
 */
export function addTokens(
	tokenizer: FastTokenizer,
	tokens: readonly NewToken[],
	options: { registerExisting: boolean },
): FastTokenizer {
	const added = new Map<number, AddedToken>(tokenizer.addedTokens.map((token) => [token.id, token]));
	const vocab = new Map(tokenizer.vocab);
	let changed = false;
	const same = (a: NewToken, b: NewToken): boolean =>
		a.content === b.content &&
		a.single_word === b.single_word &&
		a.lstrip === b.lstrip &&
		a.rstrip === b.rstrip &&
		a.normalized === b.normalized &&
		a.special === b.special;
	for (const token of tokens) {
		if (token.content === "") {
			continue;
		}
		const existing = vocab.get(token.content);
		if (existing !== undefined) {
			const current = added.get(existing);
			if (!options.registerExisting || (current !== undefined && same(current, token))) {
				continue;
			}
			added.set(existing, { ...token, id: existing });
			changed = true;
			continue;
		}
		let maxAdded = -1;
		for (const id of added.keys()) {
			maxAdded = Math.max(maxAdded, id);
		}
		const id = Math.max(tokenizer.modelVocab.size, maxAdded + 1);
		added.set(id, { ...token, id });
		vocab.set(token.content, id);
		changed = true;
	}
	if (!changed) {
		return tokenizer;
	}
	const json = { ...tokenizer.json };
	json.added_tokens = [...added.values()]
		.sort((a, b) => a.id - b.id)
		.map((token) => ({
			id: token.id,
			content: token.content,
			single_word: token.single_word,
			lstrip: token.lstrip,
			rstrip: token.rstrip,
			normalized: token.normalized,
			special: token.special,
		}));
	return indexTokenizer(json);
}
