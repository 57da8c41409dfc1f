import type { MergeMethod, ParameterValue } from "../methods/merge-method.js";
import type { LoadedModel, StoredTensor } from "../models/load-model.js";
import type { LoraPatch } from "../models/lora-adapter.js";
import type { Diagnostic, Recipe } from "../recipe/recipe.js";
import type { FloatDtype, SafetensorsDtype } from "../safetensors/dtype.js";
import type { EmbeddingRows, TokenizerPlan } from "../tokenizer/tokenizer-plan.js";
import type { Architecture } from "./architectures/architecture.js";

/** One model's contribution to one output tensor. */
export interface PlannedInput {
	/** The model's reference key (as in the recipe). */
	model: string;
	/** The tensor as stored in that model (after alias and tied-name lookup). */
	stored: StoredTensor;
	/** Per-model parameters for this tensor, precedence and defaults applied. */
	params: Record<string, ParameterValue>;
	/** The change a `model+adapter` reference's LoRA adapter makes to this tensor, applied as it is read. */
	lora?: LoraPatch;
	/**
	 * Where the input is a block of rows of the stored tensor (see rowBlocks): the block's first byte within it.
	 * `stored` then has the block's shape and byte length.
	 */
	rowsFrom?: number;
}

export interface PlannedTensor {
	/** Output tensor name. */
	name: string;
	isEmbed: boolean;
	/** Inputs merged, in recipe order; includes the base only where the method treats it as an input. */
	models: PlannedInput[];
	/** The base's tensor where the method uses the base as a reference. */
	base: PlannedInput | undefined;
	/** Global parameters for this tensor. */
	params: Record<string, ParameterValue>;
	shape: number[];
	dtype: SafetensorsDtype;
	/**
	 * The dtype mergekit does this tensor's arithmetic in (the recipe's `dtype`, else the stored one): methods whose
	 * results depend on the rounding of intermediates (TIES' sign election in a bfloat16 merge) round to it.
	 */
	computeDtype: FloatDtype | undefined;
	/** Copy the single input's stored bytes untouched (passthrough without scale, or non-float data). */
	copyRaw: boolean;
	/** For embeddings under a tokenizer option: how each input is remapped onto the output vocabulary first. */
	embeddings?: EmbeddingRows;
	/** Where a layer tensor sits: output slice, layer offset within it, and the gradient position t. */
	layer: { slice: number; offset: number; t: number } | undefined;
}

export interface MergePlan {
	recipe: Recipe;
	method: MergeMethod;
	architecture: Architecture;
	/** Every model the recipe references, in first-mention order. */
	models: LoadedModel[];
	baseModel: LoadedModel | undefined;
	/** Output tensors in the order they are written (sorted by name, as mergekit writes them). */
	tensors: PlannedTensor[];
	/** config.json of the output. */
	outputConfig: Record<string, unknown>;
	/** The model whose config, tokenizer and generation config are carried over. */
	donor: LoadedModel;
	/** The output vocabulary and tokenizer files, when the recipe sets tokenizer_source, tokenizer or chat_template. */
	tokenizer?: TokenizerPlan;
	seed: number;
	seedOrigin: "command line" | "recipe" | "chosen";
	randomized: boolean;
	warnings: Diagnostic[];
	/** Bytes read from input models. */
	bytesToRead: number;
	/** Bytes of output weights. */
	bytesToWrite: number;
	/** Largest working set of one tensor's merge, in bytes (inputs and output as float32). */
	peakTensorBytes: number;
	/** The final merge of a multi-stage recipe: the earlier stages that made its intermediate inputs, in run order. */
	stages?: readonly StageSummary[];
}

/** One earlier stage of a multi-stage recipe, for the final model's card. */
export interface StageSummary {
	name: string;
	/** The method's card label with its link, e.g. `[TIES](https://arxiv.org/abs/2306.01708)`. */
	method: string;
	models: readonly LoadedModel[];
	baseKey: string | undefined;
}
