import type { LoadedModel } from "../models/load-model.js";
import { PlanError } from "../plan/plan-error.js";
import type { Diagnostic, Recipe, SourceSpan, TokenizerSettings } from "../recipe/recipe.js";
import { buildVocabulary, type VocabularyInput } from "./build-vocabulary.js";
import { embeddingPermutation } from "./embedding-permutation.js";
import { getConfigValue } from "./get-config-value.js";
import { stripTokenizer } from "./strip-tokenizer.js";
import { addedTokensDecoder, type FastTokenizer, type ModelTokenizer, type TokenizerInputs } from "./tokenizer-data.js";
import type { EmbeddingRemap, ExplicitTokenSource, TokenizerOutput, TokenizerPlan } from "./tokenizer-plan.js";
import { vocabularyTokens } from "./vocabulary-tokens.js";

export interface PlanTokenizerParams {
	recipe: Recipe;
	/** Every model merged, first mention first. */
	models: readonly LoadedModel[];
	/** The base model, else the first model: its tokenizer is the "base" one (spec §4.2). */
	donor: LoadedModel;
	/** The config key of the vocabulary size (`vocab_size` unless the family says otherwise). */
	vocabSizeKey: string;
	inputs: TokenizerInputs;
	warnings: Diagnostic[];
}

/**
 * The output vocabulary, each model's permutation onto it and the output tokenizer files (spec §4, §5.4), from a
 * recipe's `tokenizer_source` / `tokenizer:` and `chat_template`. Undefined when the recipe sets none of them, or only
 * `chat_template: auto` and no model has a template.
 */
export function planTokenizer(params: PlanTokenizerParams): TokenizerPlan | undefined {
	const { recipe, donor, inputs, warnings } = params;
	const settings: TokenizerSettings | undefined =
		recipe.tokenizer ??
		(recipe.tokenizerSource === undefined
			? undefined
			: {
					source: recipe.tokenizerSource,
					tokens: [],
					padToMultipleOf: undefined,
					span: recipe.keySpans.tokenizer_source ?? recipe.mergeMethodSpan,
				});
	const chatTemplate = inputs.chatTemplate;
	if (settings === undefined) {
		if (chatTemplate === undefined) {
			return undefined;
		}
		const config = inputs.models.get(donor.reference.key)?.config;
		return {
			output: {
				donorDir: donor.dir,
				tokenizerJson: undefined,
				tokenizerConfig: { ...config, chat_template: chatTemplate },
				chatTemplate,
				summary: undefined,
			},
			remap: undefined,
		};
	}
	const span = settings.span;
	const warn = (message: string): void => {
		warnings.push({ severity: "warning", message, span });
	};
	const vocabSize = (model: LoadedModel): number | undefined => {
		const value = getConfigValue(model.config, params.vocabSizeKey);
		return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
	};
	const fastTokenizer = (key: string, files: ModelTokenizer | undefined, what: string): FastTokenizer | undefined => {
		if (files?.problem !== undefined) {
			throw new PlanError(`${key}'s tokenizer cannot be read, and it is needed as ${what}: ${files.problem}`, span);
		}
		if (files?.tokenizer === undefined && files?.hasSentencePiece) {
			throw new PlanError(
				`${key} has only a SentencePiece tokenizer.model, and mergesmith reads fast tokenizers (tokenizer.json) only; save one with transformers (AutoTokenizer.from_pretrained(...).save_pretrained(...)) to use it as ${what}`,
				span,
			);
		}
		return files?.tokenizer;
	};

	const baseKey = donor.reference.key;
	const baseFiles = inputs.models.get(baseKey);
	const baseOriginal = fastTokenizer(baseKey, baseFiles, "the base of a tokenizer merge");
	if (baseOriginal === undefined) {
		throw new PlanError(
			`${baseKey} has no tokenizer.json, which a tokenizer merge starts from (it is the base model, or the first model when there is none)`,
			span,
		);
	}
	const stripped = stripTokenizer(baseOriginal, vocabSize(donor) ?? baseOriginal.vocab.size);
	if (stripped.removed.length > 0) {
		warn(
			`${baseKey}'s tokenizer has ${stripped.removed.length} token(s) at or beyond its vocab_size ${vocabSize(donor)}, which its embeddings have no rows for; they are left out (first: ${JSON.stringify(stripped.removed[0])})`,
		);
	}
	// mergekit takes a model without a readable tokenizer to share the base's vocabulary.
	const vocabularies = new Map<string, FastTokenizer>();
	const vocabularyInputs: VocabularyInput[] = [
		{ key: baseKey, tokenizer: stripped.tokenizer, vocabSize: vocabSize(donor) },
	];
	vocabularies.set(baseKey, stripped.tokenizer);
	for (const model of params.models) {
		const key = model.reference.key;
		if (key === baseKey) {
			continue;
		}
		const files = inputs.models.get(key);
		const own = files?.problem === undefined ? fastTokenizer(key, files, "an input of a tokenizer merge") : undefined;
		if (own === undefined) {
			const why =
				files?.problem === undefined
					? "has no tokenizer files"
					: `has a tokenizer that cannot be read (${files.problem})`;
			warn(`${key} ${why}; its vocabulary is taken to be ${baseKey}'s, as mergekit does`);
			vocabularies.set(key, stripped.tokenizer);
			continue;
		}
		vocabularies.set(key, own);
		vocabularyInputs.push({ key, tokenizer: own, vocabSize: vocabSize(model) });
	}

	let sourceFiles: ModelTokenizer | undefined;
	let original: FastTokenizer;
	let source: "union" | "base" | FastTokenizer;
	if (settings.source === "union" || settings.source === "base") {
		sourceFiles = baseFiles;
		original = baseOriginal;
		source = settings.source;
	} else {
		sourceFiles = inputs.models.get(settings.source) ?? inputs.source;
		const tokenizer = fastTokenizer(settings.source, sourceFiles, "the tokenizer source");
		if (tokenizer === undefined) {
			throw new PlanError(`the tokenizer source ${settings.source} has no tokenizer.json`, span);
		}
		original = tokenizer;
		source = tokenizer;
	}
	const built = buildVocabulary(
		source,
		vocabularyInputs,
		settings.tokens.map((token) => token.token),
	);
	for (const message of built.warnings) {
		warn(message);
	}
	let tokens: string[];
	try {
		tokens = vocabularyTokens(built.tokenizer);
	} catch (error) {
		throw new PlanError((error as Error).message, span);
	}
	const pad = settings.padToMultipleOf;
	const rows = pad !== undefined && tokens.length % pad !== 0 ? Math.ceil(tokens.length / pad) * pad : tokens.length;

	const permutations = new Map<string, Int32Array>();
	for (const model of params.models) {
		const key = model.reference.key;
		const vocabulary = vocabularies.get(key) as FastTokenizer;
		const size = vocabSize(model) ?? vocabulary.vocab.size;
		const { permutation, beyond } = embeddingPermutation(tokens, vocabulary.vocab, size);
		if (beyond.length > 0) {
			warn(
				`${beyond.length} token(s) of the output vocabulary have ids at or beyond ${key}'s vocab_size ${size} in its tokenizer, so it has no rows for them (first: ${JSON.stringify(beyond[0])})`,
			);
		}
		permutations.set(key, permutation);
	}

	const forced = new Uint8Array(tokens.length);
	const explicit = new Map<number, ExplicitTokenSource>();
	const ids = new Map(tokens.map((token, id) => [token, id]));
	for (const setting of settings.tokens) {
		const id = ids.get(setting.token) as number;
		if (setting.force) {
			forced[id] = 1;
		}
		const tokenSource = setting.source;
		if (tokenSource === undefined) {
			continue;
		}
		if (tokenSource.kind === "zero") {
			explicit.set(id, { kind: "zero" });
			continue;
		}
		const key = tokenSource.model.key;
		const permutation = permutations.get(key);
		const vocabulary = vocabularies.get(key);
		if (permutation === undefined || vocabulary === undefined) {
			throw new PlanError(
				`token ${JSON.stringify(setting.token)} takes its embedding from ${key}, which is not one of the models merged`,
				tokenSource.model.span,
			);
		}
		const at = (row: number, where: SourceSpan): ExplicitTokenSource => ({
			kind: "row",
			model: key,
			row,
			token: setting.token,
			span: where,
		});
		if (tokenSource.kind === "model") {
			const row = permutation[id] as number;
			if (row < 0) {
				throw new PlanError(
					`token ${JSON.stringify(setting.token)} takes its embedding from ${key}, whose tokenizer does not have it; use \`{kind: model_token, model: ${key}, token: ...}\` to take another token's row`,
					tokenSource.model.span,
				);
			}
			explicit.set(id, at(row, setting.span));
		} else if ("tokenId" in tokenSource) {
			explicit.set(id, at(tokenSource.tokenId, tokenSource.span));
		} else {
			const row = vocabulary.vocab.get(tokenSource.token);
			if (row === undefined) {
				throw new PlanError(
					`token ${JSON.stringify(tokenSource.token)} is not in ${key}'s tokenizer, so its row cannot be the embedding of ${JSON.stringify(setting.token)}`,
					tokenSource.span,
				);
			}
			explicit.set(id, at(row, tokenSource.span));
		}
	}
	const remap: EmbeddingRemap = { tokens: tokens.length, rows, permutations, forced, explicit };
	const nowhere = tokens.filter(
		(_, id) => !explicit.has(id) && [...permutations.values()].every((permutation) => (permutation[id] as number) < 0),
	);
	if (nowhere.length > 0) {
		warn(
			`${nowhere.length} token(s) of the output vocabulary are in none of the models, so their embeddings are zeros (first: ${JSON.stringify(nowhere[0])}); give them a source under \`tokenizer.tokens\``,
		);
	}

	const changed = built.tokenizer !== original;
	const sourceName =
		settings.source === "union"
			? `union of ${vocabularyInputs.length} tokenizer(s)`
			: settings.source === "base"
				? `${baseKey}'s tokenizer`
				: `${settings.source}'s tokenizer`;
	let tokenizerConfig: Record<string, unknown> | undefined;
	if (changed || chatTemplate !== undefined) {
		tokenizerConfig = structuredClone(sourceFiles?.config ?? {});
		if (changed) {
			tokenizerConfig.added_tokens_decoder = addedTokensDecoder(built.tokenizer.addedTokens);
		}
		if (chatTemplate !== undefined) {
			tokenizerConfig.chat_template = chatTemplate;
		}
	}
	const output: TokenizerOutput = {
		donorDir: sourceFiles?.dir ?? donor.dir,
		tokenizerJson: changed ? built.tokenizer.json : undefined,
		tokenizerConfig,
		chatTemplate,
		summary: `${sourceName}: ${tokens.length} tokens${rows === tokens.length ? "" : `, ${rows} embedding rows`}`,
	};
	return { output, remap };
}
