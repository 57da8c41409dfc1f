/** The parts of a transformer the report aggregates over. */
export type ModuleKind = "attention" | "mlp" | "norm" | "embedding" | "other";

export const MODULE_KINDS: readonly ModuleKind[] = ["embedding", "attention", "mlp", "norm", "other"];

/**
 * Which part of the model a tensor belongs to, from its name (the family tables name tensors as transformers does).
 * Norms are tested first because their names often contain `attention` (`post_attention_layernorm`).
 */
export function classifyTensor(name: string, isEmbed = false): ModuleKind {
	const lower = name.toLowerCase();
	if (isEmbed || /embed|lm_head|\bwte\b|\bwpe\b|word_embeddings/.test(lower)) {
		return "embedding";
	}
	if (/norm|\bln_?\w*\b|layernorm/.test(lower)) {
		return "norm";
	}
	if (/attn|attention|\.(q|k|v|o|qkv)_proj\.|\.query_key_value\.|\.dense\.|\.wqkv\.|\.wo\./.test(lower)) {
		return "attention";
	}
	if (/mlp|feed_forward|ffn|expert|moe|router|\.(gate|up|down|gate_up)_proj\.|\.w[123]\.|\.fc\d?\./.test(lower)) {
		return "mlp";
	}
	return "other";
}
