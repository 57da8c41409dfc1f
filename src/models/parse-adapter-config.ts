import type { AdapterConfig } from "./lora-adapter.js";

/** PEFT initialisations that change the base weights too, so the adapter only fits that changed base. */
const BASE_CHANGING_INITS = /^(pissa|olora|corda|loftq)/i;

/**
 * Reads a PEFT `adapter_config.json` (already parsed) as a plain LoRA that mergesmith can apply with
 * W + scaling·B·A, or returns the reason it cannot: another PEFT method, DoRA, or a LoRA variant whose merge is more
 * than that sum. PEFT's defaults apply to absent keys (r 8, lora_alpha 8).
 */
export function parseAdapterConfig(json: unknown): AdapterConfig | string {
	if (typeof json !== "object" || json === null || Array.isArray(json)) {
		return "adapter_config.json is not a JSON object";
	}
	const config = json as Record<string, unknown>;
	const peftType = config.peft_type;
	if (typeof peftType !== "string") {
		return "adapter_config.json has no `peft_type`; is this a PEFT adapter?";
	}
	if (peftType.toUpperCase() !== "LORA") {
		return `it is a ${peftType} adapter (peft_type), and mergesmith applies LoRA adapters only; merge it into the model with PEFT's merge_and_unload and reference the merged model instead`;
	}
	if (config.use_dora === true) {
		return "it is a DoRA adapter (use_dora: true): DoRA rescales every column of the merged weight by a learned magnitude, which mergesmith does not apply; merge it with PEFT's merge_and_unload first and reference the merged model";
	}
	const refused: [string, string][] = [
		["layer_replication", "it duplicates layers (layer_replication)"],
		["target_parameters", "it adapts raw parameters rather than layers (target_parameters)"],
		[
			"alora_invocation_tokens",
			"it is an activated LoRA (alora_invocation_tokens), which cannot be merged into weights",
		],
	];
	for (const [key, what] of refused) {
		const value = config[key];
		if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0)) {
			return `${what}; mergesmith applies plain LoRA updates only. Merge it with PEFT's merge_and_unload first`;
		}
	}
	if (config.use_qalora === true) {
		return "it is a QA-LoRA adapter for a quantized model (use_qalora), which does not apply to full-precision weights";
	}
	const init = config.init_lora_weights;
	if (typeof init === "string" && BASE_CHANGING_INITS.test(init)) {
		return `it was initialised with ${init} (init_lora_weights), which also changes the base weights, so it fits only that changed base; convert it to a plain LoRA with PEFT (path_initial_model_for_weight_conversion) first`;
	}
	const r = config.r ?? 8;
	if (typeof r !== "number" || !Number.isInteger(r) || r < 1) {
		return `\`r\` is ${JSON.stringify(r)}; a LoRA rank is a whole number of at least 1`;
	}
	const alpha = config.lora_alpha ?? 8;
	if (typeof alpha !== "number" || !Number.isFinite(alpha)) {
		return `\`lora_alpha\` is ${JSON.stringify(alpha)}, not a number`;
	}
	const rankPattern = numberMap(config.rank_pattern, "rank_pattern");
	if (typeof rankPattern === "string") {
		return rankPattern;
	}
	const alphaPattern = numberMap(config.alpha_pattern, "alpha_pattern");
	if (typeof alphaPattern === "string") {
		return alphaPattern;
	}
	const baseModel = config.base_model_name_or_path;
	return {
		r,
		alpha,
		useRslora: config.use_rslora === true,
		fanInFanOut: config.fan_in_fan_out === true,
		rankPattern,
		alphaPattern,
		baseModel: typeof baseModel === "string" && baseModel !== "" ? baseModel : undefined,
	};
}

function numberMap(value: unknown, key: string): Record<string, number> | string {
	if (value === undefined || value === null) {
		return {};
	}
	if (typeof value !== "object" || Array.isArray(value)) {
		return `\`${key}\` must map module names to numbers`;
	}
	const out: Record<string, number> = {};
	for (const [pattern, number] of Object.entries(value)) {
		if (typeof number !== "number" || !Number.isFinite(number) || number <= 0) {
			return `\`${key}\` gives ${pattern} ${JSON.stringify(number)}, not a positive number`;
		}
		out[pattern] = number;
	}
	return out;
}
