import type { ModelPath } from "../recipe/recipe.js";
import type { StoredTensor } from "./load-model.js";

/** What mergesmith reads from a PEFT `adapter_config.json` (LoRA only; everything else is refused). */
export interface AdapterConfig {
	r: number;
	alpha: number;
	/** Rank-stabilised LoRA: the update is scaled by alpha/√r instead of alpha/r. */
	useRslora: boolean;
	/** The adapted layers store their weight transposed ([in, out], GPT-2's Conv1D). */
	fanInFanOut: boolean;
	/** Per-module overrides of r and alpha, keyed by a module-name pattern. */
	rankPattern: Readonly<Record<string, number>>;
	alphaPattern: Readonly<Record<string, number>>;
	/** `base_model_name_or_path`: the model the adapter was trained on, when recorded. */
	baseModel: string | undefined;
}

/**
 * How an adapter changes one tensor of the model it is applied to:
 * - `low-rank`: W += scaling · B·A (transposed for fan-in-fan-out layers and embeddings), the LoRA update;
 * - `bias`: b += scaling · lora_B.bias (adapters trained with `lora_bias`);
 * - `replace`: the tensor is replaced by the adapter's copy (`modules_to_save`, trained biases).
 */
export type LoraPatch =
	| { kind: "low-rank"; a: StoredTensor; b: StoredTensor; scaling: number; transpose: boolean }
	| { kind: "bias"; b: StoredTensor; scaling: number }
	| { kind: "replace"; tensor: StoredTensor };

/** A LoRA adapter opened for merging: its folder, revision and config, and its tensors' header entries. */
export interface LoadedAdapter {
	path: ModelPath;
	dir: string;
	origin: "local" | "cache" | "hub";
	/** The commit the adapter reference resolved to, for Hub and cache references. */
	commit: string | undefined;
	config: AdapterConfig;
	tensors: ReadonlyMap<string, StoredTensor>;
	license: string | undefined;
}

/** An adapter matched to the model it is applied to: what it does to each of the model's tensors. */
export interface AttachedAdapter extends Omit<LoadedAdapter, "tensors"> {
	/** Keyed by the model's tensor name. */
	patches: ReadonlyMap<string, LoraPatch>;
	/** Things worth telling the user that do not stop the merge (a different base model recorded, ...). */
	warnings: string[];
}
