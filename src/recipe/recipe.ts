/**
 * A parsed recipe: mergekit's `MergeConfiguration` with every value's place in the YAML text,
 * so that any later stage can point at the line a problem comes from.
 */

/** 1-based line and column in the recipe text. */
export interface SourceSpan {
	line: number;
	column: number;
}

export interface Diagnostic {
	severity: "error" | "warning";
	/** What is wrong and what would be right, as one or two sentences. */
	message: string;
	/** Where in the recipe; absent for problems that belong to no single place. */
	span?: SourceSpan;
	/** The recipe file, when the caller named one (`parseRecipe`'s `file` option). */
	file?: string;
}

export type Scalar = number | boolean | string;

/** A parameter value as written: scalar, gradient (list of numbers) or ordered filter list (spec §1.7). */
export type ParameterSetting =
	| { kind: "scalar"; value: Scalar; span: SourceSpan }
	| { kind: "gradient"; values: number[]; span: SourceSpan }
	| { kind: "filtered"; entries: FilteredEntry[]; span: SourceSpan };

export interface FilteredEntry {
	/** Case-sensitive substring of the tensor name; undefined or "*" matches everything. */
	filter: string | undefined;
	value: Exclude<ParameterSetting, { kind: "filtered" }>;
	span: SourceSpan;
}

export type Parameters = Readonly<Record<string, ParameterSetting>>;

/** `path[@revision]`: a local folder or a Hub repo id. */
export interface ModelPath {
	path: string;
	revision: string | undefined;
}

/** `path[@revision][+lora[@revision]]` (spec §1.3). */
export interface ModelReference {
	model: ModelPath;
	lora: ModelPath | undefined;
	overrideArchitecture: string | undefined;
	/** The reference as mergekit prints it; two references are the same model when their keys are equal. */
	key: string;
	span: SourceSpan;
}

export interface InputModel {
	model: ModelReference;
	parameters: Parameters;
	span: SourceSpan;
}

export interface SliceSource {
	model: ModelReference;
	/** Half-open [start, end); undefined means every layer of the model. */
	layerRange: readonly [number, number] | undefined;
	parameters: Parameters;
	span: SourceSpan;
}

export interface OutputSlice {
	sources: SliceSource[];
	baseModel: ModelReference | undefined;
	parameters: Parameters;
	span: SourceSpan;
}

export interface ModuleDefinition {
	models: InputModel[] | undefined;
	slices: OutputSlice[] | undefined;
	parameters: Parameters;
	span: SourceSpan;
}

/** Where one token's embedding comes from (`tokenizer.tokens.<token>.source`, spec §4.3). */
export type TokenEmbeddingSource =
	| { kind: "model"; model: ModelReference }
	| { kind: "model_token"; model: ModelReference; token: string; span: SourceSpan }
	| { kind: "model_token"; model: ModelReference; tokenId: number; span: SourceSpan }
	| { kind: "zero" };

export interface TokenSetting {
	token: string;
	/** Undefined: the token is added and takes the automatic default embedding. */
	source: TokenEmbeddingSource | undefined;
	/** Every model carries this embedding, even those that have the token. */
	force: boolean;
	span: SourceSpan;
}

/** The `tokenizer:` block. */
export interface TokenizerSettings {
	/** `union` (the default), `base`, or a model reference's key. */
	source: string;
	/** In the order written. */
	tokens: TokenSetting[];
	padToMultipleOf: number | undefined;
	span: SourceSpan;
}

export interface Recipe {
	mergeMethod: string;
	mergeMethodSpan: SourceSpan;
	models: InputModel[] | undefined;
	slices: OutputSlice[] | undefined;
	modules: Readonly<Record<string, ModuleDefinition>> | undefined;
	baseModel: ModelReference | undefined;
	parameters: Parameters;
	/** The recipe's dtype name as written (`bfloat16`, `torch.float16`, ...). */
	dtype: string | undefined;
	outDtype: string | undefined;
	/** `union`, `base`, or a model reference's key (a legacy `model:` prefix already stripped). */
	tokenizerSource: string | undefined;
	/** The `tokenizer:` block (spec §4.3). */
	tokenizer: TokenizerSettings | undefined;
	chatTemplate: string | undefined;
	/** mergekit ignores a `random_seed` key; mergesmith honours it. */
	randomSeed: number | undefined;
	/** Multi-document recipes name their stages. */
	name: string | undefined;
	/** The recipe text exactly as given (it becomes mergekit_config.yml). */
	source: string;
	/** Where top-level keys sit, for messages about them (`dtype`, `tokenizer_source`, ...). */
	keySpans: Readonly<Record<string, SourceSpan>>;
	/** The recipe file, when the caller named one; copied onto the validator's diagnostics. */
	file?: string;
}
