import type { FastTokenizer } from "./tokenizer-data.js";

/** The output vocabulary as a list indexed by token id; throws when the ids are not exactly 0..n−1. */
export function vocabularyTokens(tokenizer: FastTokenizer): string[] {
	const tokens: string[] = new Array<string>(tokenizer.vocab.size);
	for (const [token, id] of tokenizer.vocab) {
		if (id >= tokens.length || tokens[id] !== undefined) {
			throw new Error(
				`the output tokenizer's ids are not 0..${tokens.length - 1} (token ${JSON.stringify(token)} has id ${id}), so they cannot index embedding rows`,
			);
		}
		tokens[id] = token;
	}
	return tokens;
}
