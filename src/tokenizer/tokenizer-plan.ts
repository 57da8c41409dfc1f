import type { SourceSpan } from "../recipe/recipe.js";

/** A token's default row is the mean of the rows of the models that have it. */
export const DEFAULT_MEAN = -1;
/** A token's default row is zeros. */
export const DEFAULT_ZERO = -2;

/** A token source set under `tokenizer.tokens`, resolved to a row of one model (or zeros). */
export type ExplicitTokenSource =
	| { kind: "row"; model: string; row: number; token: string; span: SourceSpan }
	| { kind: "zero" };

/**
 * How every embedding tensor (`isEmbed`: embed_tokens, lm_head) is brought onto the output vocabulary before the merge
 * method runs (spec §4.3). One object, shared by all those tensors; the arrays hold one entry per output token.
 */
export interface EmbeddingRemap {
	/** Tokens in the output vocabulary. */
	tokens: number;
	/** Rows of each remapped matrix: `tokens` rounded up to a multiple of `pad_to_multiple_of`. */
	rows: number;
	/** Per model (reference key): output token id → that model's row, or −1 where its tokenizer lacks the token. */
	permutations: ReadonlyMap<string, Int32Array>;
	/** 1 where `force: true` gives every model the token's default row. */
	forced: Uint8Array;
	/** Sources set in the recipe, by output token id. */
	explicit: ReadonlyMap<number, ExplicitTokenSource>;
}

/** Default rows for one set of input models (the models a tensor has); shared by tensors with the same set. */
export interface TokenDefaults {
	/** The models, in the order their rows are averaged. */
	models: readonly string[];
	/** Per output token id: index into `models` of the model whose row is the default, or DEFAULT_MEAN / DEFAULT_ZERO. */
	source: Int32Array;
	/** Per output token id: that row, where `source` names a model. */
	row: Int32Array;
}

/** What the executor needs to remap one embedding tensor's inputs. */
export interface EmbeddingRows {
	remap: EmbeddingRemap;
	defaults: TokenDefaults;
}

/** The tokenizer files of the output (spec §5.4), decided at planning time. */
export interface TokenizerOutput {
	/** The tokenizer donor: tokenizer files left unchanged, generation_config.json and chat_template.jinja come from it. */
	donorDir: string;
	/** A rebuilt tokenizer.json; undefined when the donor's tokenizer files are copied as they are. */
	tokenizerJson: Record<string, unknown> | undefined;
	/** tokenizer_config.json to write (the donor's, updated); undefined to copy the donor's. */
	tokenizerConfig: Record<string, unknown> | undefined;
	/** The chosen chat template, written to chat_template.jinja (and tokenizer_config.json). */
	chatTemplate: string | undefined;
	/** One line for the plan printout, such as `union of 3 tokenizers: 66 tokens`. */
	summary: string | undefined;
}

export interface TokenizerPlan {
	output: TokenizerOutput;
	/** Undefined when only a chat template is set: the embeddings are then merged as they are. */
	remap: EmbeddingRemap | undefined;
}
