import { addTokens, type NewToken, plainAddedToken } from "./add-tokens.js";
import type { AddedToken, FastTokenizer } from "./tokenizer-data.js";

/** One input model's tokenizer, with the config's vocabulary size (rows of its embedding). */
export interface VocabularyInput {
	key: string;
	tokenizer: FastTokenizer;
	/** The config's vocabulary size; undefined when the config has none. */
	vocabSize: number | undefined;
}

export interface BuiltVocabulary {
	tokenizer: FastTokenizer;
	warnings: string[];
}

/**
 * The output tokenizer (spec §4.2): `base`, the stripped base tokenizer; a tokenizer of one model, as it is;
 * `union`, the base plus every other model's ordinary tokens (each as a plain added token) and then every model's
 * added tokens, deduplicated by content with the first model's settings kept, leaving out tokens at or beyond a
 * model's vocab_size. Then `extraTokens` (the recipe's `tokenizer.tokens`) are added where missing.
 * `inputs` holds every model, base first, base stripped.
 */
export function buildVocabulary(
	source: "union" | "base" | FastTokenizer,
	inputs: readonly VocabularyInput[],
	extraTokens: readonly string[],
): BuiltVocabulary {
	const warnings: string[] = [];
	const base = inputs[0];
	if (base === undefined) {
		throw new Error("no models to build a vocabulary from");
	}
	let tokenizer = source === "base" ? base.tokenizer : source === "union" ? base.tokenizer : source;
	if (source === "union") {
		const ordinary = new Set<string>();
		const added = new Map<string, AddedToken>();
		const conflicts = new Set<string>();
		for (const input of inputs) {
			const vocabSize = input.vocabSize ?? input.tokenizer.modelVocab.size;
			const addedContents = new Set(input.tokenizer.addedTokens.map((token) => token.content));
			const beyond: string[] = [];
			for (const [token, id] of [...input.tokenizer.vocab].sort((a, b) => a[1] - b[1])) {
				if (id >= vocabSize) {
					beyond.push(token);
				} else if (!addedContents.has(token)) {
					ordinary.add(token);
				}
			}
			for (const token of [...input.tokenizer.addedTokens].sort((a, b) => a.id - b.id)) {
				if (token.id >= vocabSize) {
					continue;
				}
				const first = added.get(token.content);
				if (first === undefined) {
					added.set(token.content, token);
				} else if (!sameSettings(first, token) && !conflicts.has(token.content)) {
					conflicts.add(token.content);
					warnings.push(
						`token ${JSON.stringify(token.content)} is added with different settings by several models; the first model's settings are kept`,
					);
				}
			}
			if (beyond.length > 0) {
				warnings.push(
					`${beyond.length} token(s) of ${input.key}'s tokenizer have ids at or beyond its vocab_size ${vocabSize} and are left out of the union (first: ${JSON.stringify(beyond[0])})`,
				);
			}
		}
		const newOrdinary = [...ordinary]
			.filter((token) => !added.has(token) && !base.tokenizer.vocab.has(token))
			.map(plainAddedToken);
		tokenizer = addTokens(tokenizer, newOrdinary, { registerExisting: false });
		const newAdded: NewToken[] = [...added.values()].map(({ id: _id, ...settings }) => settings);
		tokenizer = addTokens(tokenizer, newAdded, { registerExisting: true });
	}
	tokenizer = addTokens(tokenizer, extraTokens.map(plainAddedToken), { registerExisting: false });
	return { tokenizer, warnings };
}

function sameSettings(a: AddedToken, b: AddedToken): boolean {
	return (
		a.single_word === b.single_word &&
		a.lstrip === b.lstrip &&
		a.rstrip === b.rstrip &&
		a.normalized === b.normalized &&
		a.special === b.special
	);
}
