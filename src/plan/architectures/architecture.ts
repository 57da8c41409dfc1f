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
}

export function layerWeightName(template: string, layerIndex: number): string {
	return template.replaceAll("${layer_index}", String(layerIndex));
}
