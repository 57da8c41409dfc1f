import type { Architecture, WeightTemplate } from "./architecture.js";

const EMBED_TOKENS: WeightTemplate = { name: "model.embed_tokens.weight", isEmbed: true };
const FINAL_NORM: WeightTemplate = { name: "model.norm.weight" };
/** Optional: models with `tie_word_embeddings` store no lm_head, and their embedding matrix stands in for it. */
const TIED_LM_HEAD: WeightTemplate = {
	name: "lm_head.weight",
	isEmbed: true,
	optional: true,
	tiedNames: ["model.embed_tokens.weight"],
};

function layer(...suffixes: string[]): WeightTemplate[] {
	return suffixes.map((suffix) => ({ name: `model.layers.\${layer_index}.${suffix}` }));
}

function optionalLayer(...suffixes: string[]): WeightTemplate[] {
	return layer(...suffixes).map((template) => ({ ...template, optional: true }));
}

const ATTENTION = [
	"self_attn.q_proj.weight",
	"self_attn.k_proj.weight",
	"self_attn.v_proj.weight",
	"self_attn.o_proj.weight",
];
const QK_NORM = ["self_attn.q_norm.weight", "self_attn.k_norm.weight"];
const GATED_MLP = ["mlp.up_proj.weight", "mlp.gate_proj.weight", "mlp.down_proj.weight"];

/** Llama 2/3, Mistral, Yi, SOLAR, Gemma: pre-norm attention and a gated MLP. */
const LLAMA_LAYER = layer("input_layernorm.weight", ...ATTENTION, "post_attention_layernorm.weight", ...GATED_MLP);

/** Gemma 2 and 3 add norms before and after the MLP. */
const GEMMA2_LAYER = layer(
	"input_layernorm.weight",
	...ATTENTION,
	"post_attention_layernorm.weight",
	"pre_feedforward_layernorm.weight",
	...GATED_MLP,
	"post_feedforward_layernorm.weight",
);

interface FamilyOptions {
	postWeights?: WeightTemplate[];
	expertCountConfigKey?: string;
}

function family(
	name: string,
	architectures: string[],
	modelTypes: string[],
	layerWeights: WeightTemplate[],
	options: FamilyOptions = {},
): Architecture {
	return {
		family: name,
		architectures,
		modelTypes,
		preWeights: [EMBED_TOKENS],
		layerWeights,
		postWeights: options.postWeights ?? [FINAL_NORM, TIED_LM_HEAD],
		numLayersConfigKey: "num_hidden_layers",
		vocabSizeConfigKey: "vocab_size",
		...(options.expertCountConfigKey === undefined ? {} : { expertCountConfigKey: options.expertCountConfigKey }),
		inferred: false,
	};
}

/**
 * The model families mergesmith knows by name (mergekit's JSON definitions, spec §3.1); any other model goes
 * through the generic rule. Mixture-of-experts layers keep the per-expert names of the input checkpoints
 * (`block_sparse_moe.experts.E.w1.weight`), as transformers before v5 and mergekit before June 2026 write them;
 * current mergekit writes transformers-v5 fused expert tensors instead (spec §3.4).
 */
export const FAMILIES: readonly Architecture[] = [
	// Llama 2 and 3 (and 3.1–3.3), Yi, SOLAR-10.7B and other depth-upscaled Llamas: they all declare LlamaForCausalLM.
	family("llama", ["LlamaForCausalLM", "LLaMaForCausalLM"], ["llama"], LLAMA_LAYER),
	// Mistral 7B, Mistral-Nemo (head_dim 128 ≠ hidden/heads) and Mistral-Small 22B/24B.
	family("mistral", ["MistralForCausalLM"], ["mistral"], LLAMA_LAYER),
	family(
		"mixtral",
		["MixtralForCausalLM"],
		["mixtral"],
		[
			...layer("input_layernorm.weight", ...ATTENTION, "post_attention_layernorm.weight"),
			...layer(
				"block_sparse_moe.gate.weight",
				"block_sparse_moe.experts.${expert_index}.w1.weight",
				"block_sparse_moe.experts.${expert_index}.w2.weight",
				"block_sparse_moe.experts.${expert_index}.w3.weight",
			),
		],
		{ expertCountConfigKey: "num_local_experts" },
	),
	// Qwen2 and Qwen2.5: biases on q, k and v.
	family(
		"qwen2",
		["Qwen2ForCausalLM"],
		["qwen2"],
		[...LLAMA_LAYER, ...layer("self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias")],
	),
	// Qwen3: no attention biases, RMS norms on queries and keys.
	family("qwen3", ["Qwen3ForCausalLM"], ["qwen3"], [...LLAMA_LAYER, ...layer(...QK_NORM)]),
	family(
		"qwen3_moe",
		["Qwen3MoeForCausalLM"],
		["qwen3_moe"],
		[
			...layer("input_layernorm.weight", ...ATTENTION, ...QK_NORM, "post_attention_layernorm.weight"),
			...layer(
				"mlp.gate.weight",
				"mlp.experts.${expert_index}.gate_proj.weight",
				"mlp.experts.${expert_index}.up_proj.weight",
				"mlp.experts.${expert_index}.down_proj.weight",
			),
		],
		{ expertCountConfigKey: "num_experts" },
	),
	family("gemma", ["GemmaForCausalLM"], ["gemma"], LLAMA_LAYER),
	family("gemma2", ["Gemma2ForCausalLM"], ["gemma2"], GEMMA2_LAYER),
	// Gemma 3 text-only checkpoints (1B, and text extracts of the larger ones); the vision models use the generic rule.
	family("gemma3", ["Gemma3ForCausalLM"], ["gemma3_text"], [...GEMMA2_LAYER, ...layer(...QK_NORM)]),
	family(
		"phi3",
		["Phi3ForCausalLM"],
		["phi3"],
		layer(
			"input_layernorm.weight",
			"self_attn.qkv_proj.weight",
			"self_attn.o_proj.weight",
			"post_attention_layernorm.weight",
			"mlp.gate_up_proj.weight",
			"mlp.down_proj.weight",
		),
	),
	// Cohere (Command R, Aya): attention and MLP in parallel after one norm, so no post_attention_layernorm; Command R+
	// adds query/key norms. The lm_head is tied to the embeddings.
	family(
		"cohere",
		["CohereForCausalLM"],
		["cohere"],
		[...layer("input_layernorm.weight", ...ATTENTION, ...GATED_MLP), ...optionalLayer(...QK_NORM)],
	),
	family("cohere2", ["Cohere2ForCausalLM"], ["cohere2"], layer("input_layernorm.weight", ...ATTENTION, ...GATED_MLP)),
	// Upstage's own SOLAR class (solar-pro); SOLAR-10.7B itself is a LlamaForCausalLM.
	family("solar", ["SolarForCausalLM"], ["solar"], LLAMA_LAYER, {
		postWeights: [FINAL_NORM, { ...TIED_LM_HEAD, aliases: ["model.lm_head.weight"] }],
	}),
];

export function findFamily(architecture: string, modelType: string | undefined): Architecture | undefined {
	const candidates = FAMILIES.filter((family) => family.architectures.includes(architecture));
	return candidates.find((family) => modelType !== undefined && family.modelTypes.includes(modelType)) ?? candidates[0];
}
