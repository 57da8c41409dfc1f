import type { Architecture, WeightTemplate } from "./architecture.js";

const EMBED_TOKENS: WeightTemplate = { name: "model.embed_tokens.weight", isEmbed: true };
const FINAL_NORM: WeightTemplate = { name: "model.norm.weight" };
const TIED_LM_HEAD: WeightTemplate = {
	name: "lm_head.weight",
	isEmbed: true,
	optional: true,
	tiedNames: ["model.embed_tokens.weight"],
};

function layer(...suffixes: string[]): WeightTemplate[] {
	return suffixes.map((suffix) => ({ name: `model.layers.\${layer_index}.${suffix}` }));
}

const LLAMA_LAYER = layer(
	"input_layernorm.weight",
	"self_attn.q_proj.weight",
	"self_attn.k_proj.weight",
	"self_attn.v_proj.weight",
	"self_attn.o_proj.weight",
	"post_attention_layernorm.weight",
	"mlp.up_proj.weight",
	"mlp.gate_proj.weight",
	"mlp.down_proj.weight",
);

function family(
	name: string,
	architectures: string[],
	modelTypes: string[],
	layerWeights: WeightTemplate[],
	postWeights: WeightTemplate[] = [FINAL_NORM, TIED_LM_HEAD],
): Architecture {
	return {
		family: name,
		architectures,
		modelTypes,
		preWeights: [EMBED_TOKENS],
		layerWeights,
		postWeights,
		numLayersConfigKey: "num_hidden_layers",
		inferred: false,
	};
}

/** The model families mergesmith knows by name; any other model goes through the generic rule. */
export const FAMILIES: readonly Architecture[] = [
	family("llama", ["LlamaForCausalLM", "LLaMaForCausalLM"], ["llama"], LLAMA_LAYER),
	family("mistral", ["MistralForCausalLM"], ["mistral"], LLAMA_LAYER),
	family(
		"qwen2",
		["Qwen2ForCausalLM"],
		["qwen2"],
		[...LLAMA_LAYER, ...layer("self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias")],
	),
	family(
		"gemma2",
		["Gemma2ForCausalLM"],
		["gemma2"],
		layer(
			"input_layernorm.weight",
			"self_attn.q_proj.weight",
			"self_attn.k_proj.weight",
			"self_attn.v_proj.weight",
			"self_attn.o_proj.weight",
			"post_attention_layernorm.weight",
			"pre_feedforward_layernorm.weight",
			"mlp.gate_proj.weight",
			"mlp.up_proj.weight",
			"mlp.down_proj.weight",
			"post_feedforward_layernorm.weight",
		),
	),
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
];

export function findFamily(architecture: string, modelType: string | undefined): Architecture | undefined {
	const candidates = FAMILIES.filter((family) => family.architectures.includes(architecture));
	return candidates.find((family) => modelType !== undefined && family.modelTypes.includes(modelType)) ?? candidates[0];
}
