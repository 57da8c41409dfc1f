/** A fast tokenizer (`tokenizer.json`) as far as merging needs to understand it: its vocabulary and added tokens. */

/** One entry of tokenizer.json's `added_tokens`, with the settings the `tokenizers` library serialises. */
export interface AddedToken {
	id: number;
	content: string;
	single_word: boolean;
	lstrip: boolean;
	rstrip: boolean;
	normalized: boolean;
	special: boolean;
}

/** tokenizer_config.json's `added_tokens_decoder`: each added token by id, with the fields transformers writes. */
export function addedTokensDecoder(tokens: readonly AddedToken[]): Record<string, Omit<AddedToken, "id">> {
	return Object.fromEntries(
		tokens.map((token) => [
			String(token.id),
			{
				content: token.content,
				lstrip: token.lstrip,
				normalized: token.normalized,
				rstrip: token.rstrip,
				single_word: token.single_word,
				special: token.special,
			},
		]),
	);
}

export interface FastTokenizer {
	/** tokenizer.json as parsed: edits work on copies of it, so that every part we do not read is kept as it was. */
	json: Record<string, unknown>;
	/** `model.type`: BPE, WordPiece, WordLevel or Unigram. */
	modelType: string;
	/** The model's own vocabulary (no added tokens): token → id. */
	modelVocab: ReadonlyMap<string, number>;
	addedTokens: readonly AddedToken[];
	/** What transformers' `get_vocab()` returns: the model vocabulary with the added tokens over it. */
	vocab: ReadonlyMap<string, number>;
}

/** A model folder's tokenizer files, as read before planning. */
export interface ModelTokenizer {
	dir: string;
	/** Undefined when the folder has no tokenizer.json. */
	tokenizer: FastTokenizer | undefined;
	/** tokenizer_config.json, when present. */
	config: Record<string, unknown> | undefined;
	/** The folder has a SentencePiece `tokenizer.model` (a slow tokenizer mergesmith cannot read). */
	hasSentencePiece: boolean;
	/** The chat template transformers would load: chat_template.jinja, else tokenizer_config.json's. */
	chatTemplate: string | undefined;
	/** Why the files could not be read, when they could not; the other fields are then empty. */
	problem?: string;
}

/** Everything tokenizer-related read from disk before planning (the planner itself reads no files). */
export interface TokenizerInputs {
	/**
	 * Per merged model (reference key): its tokenizer files. Every model's when a tokenizer option or
	 * `chat_template: auto` needs them, else only the donor's.
	 */
	models: ReadonlyMap<string, ModelTokenizer>;
	/** The `tokenizer_source` / `tokenizer.source` model when it is not one of the models merged. */
	source: ModelTokenizer | undefined;
	/** The text the recipe's `chat_template` stands for; undefined when unset, or `auto` finds no template. */
	chatTemplate: string | undefined;
}
