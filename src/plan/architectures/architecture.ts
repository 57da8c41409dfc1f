/** The tensor layout of a model family: which tensors come before, in and after the repeated layers. */

export interface WeightTemplate {
	/** Tensor name; layer tensors contain `${layer_index}`. */
	name: string;
	/** Vocabulary-sized (embeddings, lm_head): shape mismatches get embedding handling (spec §2.0.2). */
	isEmbed?: boolean;
	/** May be missing from some or all models. */
	optional?: boolean;
	/** Other names a checkpoint may store the same tensor under. */
	aliases?: readonly string[];
	/** Tensors that stand in for this one in models that tie them (lm_head ← embed_tokens). */
	tiedNames?: readonly string[];
}

export interface Architecture {
	/** Family name shown in the plan and the card, e.g. `llama`. */
	family: string;
	/** `config.architectures[0]` values this layout serves. */
	architectures: readonly string[];
	/** `config.model_type` values; break ties between families claiming the same class. */
	modelTypes: readonly string[];
	preWeights: readonly WeightTemplate[];
	layerWeights: readonly WeightTemplate[];
	postWeights: readonly WeightTemplate[];
	/** config.json key holding the layer count; undefined when unknown (generic layouts). */
	numLayersConfigKey: string | undefined;
	/** True for layouts inferred from tensor names rather than a family table (spec §3.3). */
	inferred: boolean;
	/** config.json key holding the vocabulary size (the rows of the `isEmbed` tensors). */
	vocabSizeConfigKey?: string;
	/**
	 * Mixture-of-experts families: the config key with the number of experts per layer. Templates with
	 * `${expert_index}` are repeated once per expert (`expandExperts`) before planning.
	 */
	expertCountConfigKey?: string;
	/**
	 * Several modules, each with its own layers (spec §1.6, §3.3): set for inferred layouts whose layer tensors
	 * have more than one prefix (a vision tower beside a language model). Undefined means one module, `default`,
	 * made of the fields above.
	 */
	modules?: readonly ArchitectureModule[];
}

/** One module of a multi-module layout: a tensor-name prefix with its own layers. */
export interface ArchitectureModule {
	/** The name a recipe's `modules:` uses: the layer prefix (`vision_tower.vision_model.encoder.layers`), or `default`. */
	name: string;
	/** The text before `.N.` in this module's layer tensors; undefined for `default` in a one-prefix layout. */
	layerPrefix: string | undefined;
	preWeights: readonly WeightTemplate[];
	layerWeights: readonly WeightTemplate[];
	postWeights: readonly WeightTemplate[];
	numLayersConfigKey: string | undefined;
}

export function layerWeightName(template: string, layerIndex: number): string {
	return template.replaceAll("${layer_index}", String(layerIndex));
}
