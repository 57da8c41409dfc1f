import type { LoadedModel, StoredTensor } from "./load-model.js";
import type { AttachedAdapter, LoadedAdapter, LoraPatch } from "./lora-adapter.js";
import { ModelError } from "./model-error.js";

/** PEFT saves tensors under the wrapper's prefix; what follows is the model's own module path. */
const WRAPPER_PREFIX = "base_model.model.";
/** `<module>.lora_A.weight`, also with the adapter's name before `.weight` as very old PEFT wrote it. */
const LOW_RANK = /^(.+)\.lora_(A|B)(?:\.[^.]+)?\.weight$/;
const EMBEDDING = /^(.+)\.lora_embedding_(A|B)(?:\.[^.]+)?$/;
const LORA_B_BIAS = /^(.+)\.lora_B(?:\.[^.]+)?\.bias$/;

/**
 * Matches an adapter's tensors to the model it is applied to, from headers only: every LoRA pair must meet a tensor
 * of the model with the shape the update has, and every other adapter tensor (`modules_to_save`, trained biases)
 * must replace a tensor of the same shape. Anything that does not fit is refused here, before any weight is read,
 * rather than half-applied.
 */
export function attachAdapter(model: LoadedModel, adapter: LoadedAdapter): LoadedModel {
	const reference = model.reference;
	const fail = (message: string): ModelError =>
		new ModelError(reference.key, `LoRA adapter ${adapter.path.path}: ${message}`, reference.span);
	const pairs = new Map<string, { a?: StoredTensor; b?: StoredTensor; embedding: boolean }>();
	const patches = new Map<string, LoraPatch>();
	const replacements: [string, StoredTensor][] = [];
	const biases: [string, StoredTensor][] = [];
	for (const [rawName, tensor] of adapter.tensors) {
		const name = rawName.startsWith(WRAPPER_PREFIX) ? rawName.slice(WRAPPER_PREFIX.length) : rawName;
		if (name.includes("lora_magnitude_vector")) {
			throw fail("it holds DoRA magnitude vectors (lora_magnitude_vector), which mergesmith does not apply");
		}
		const lowRank = LOW_RANK.exec(name) ?? EMBEDDING.exec(name);
		if (lowRank) {
			const [, module = "", side] = lowRank;
			const pair = pairs.get(module) ?? { embedding: name.includes(".lora_embedding_") };
			pair[side === "A" ? "a" : "b"] = tensor;
			pairs.set(module, pair);
			continue;
		}
		const bias = LORA_B_BIAS.exec(name);
		if (bias) {
			biases.push([`${bias[1]}.bias`, tensor]);
			continue;
		}
		if (name.includes(".token_adapter.")) {
			throw fail(
				"it trains single token embeddings (trainable_token_indices), which mergesmith does not apply; merge it with PEFT's merge_and_unload first",
			);
		}
		if (/\.lora_[A-Za-z_]+/.test(name)) {
			throw fail(`it holds ${rawName}, a LoRA tensor mergesmith does not know how to apply`);
		}
		replacements.push([name, tensor]);
	}
	const target = (name: string, what: string): StoredTensor => {
		const found = model.tensors.get(name);
		if (!found) {
			throw fail(
				`it changes ${name} (${what}), which ${reference.model.path} does not have; was the adapter trained on another model${adapter.config.baseModel === undefined ? "" : ` (it names ${adapter.config.baseModel})`}?`,
			);
		}
		return found;
	};
	const sameShape = (x: readonly number[], y: readonly number[]): boolean =>
		x.length === y.length && x.every((dim, i) => dim === y[i]);
	for (const [module, pair] of pairs) {
		if (!pair.a || !pair.b) {
			throw fail(`its LoRA for ${module} has lora_${pair.a ? "B" : "A"} missing`);
		}
		const { a, b } = pair;
		const weight = target(`${module}.weight`, "a LoRA update");
		const rank = a.shape[0];
		if (a.shape.length !== 2 || b.shape.length !== 2 || b.shape[1] !== rank) {
			throw fail(
				`the LoRA of ${module} has lora_A ${JSON.stringify(a.shape)} and lora_B ${JSON.stringify(b.shape)}, which do not multiply`,
			);
		}
		const { r, alpha } = scalingFor(module, adapter);
		if (r !== rank) {
			throw fail(`adapter_config.json gives ${module} rank ${r}, but its lora_A has ${rank} rows`);
		}
		// Embedding LoRAs and fan-in-fan-out layers store the update transposed (PEFT's merge transposes B·A).
		const transpose = pair.embedding || adapter.config.fanInFanOut;
		const product = [b.shape[0] ?? 0, a.shape[1] ?? 0];
		const expected = transpose ? [product[1] ?? 0, product[0] ?? 0] : product;
		if (!sameShape(weight.shape, expected)) {
			throw fail(
				`its update for ${module} has shape ${JSON.stringify(expected)} but ${weight.name} is ${JSON.stringify(weight.shape)}; was the adapter trained on another model?`,
			);
		}
		const scaling = adapter.config.useRslora ? alpha / Math.sqrt(r) : alpha / r;
		patches.set(weight.name, { kind: "low-rank", a, b, scaling, transpose });
	}
	for (const [name, tensor] of biases) {
		const bias = target(name, "a LoRA bias");
		if (!sameShape(bias.shape, tensor.shape)) {
			throw fail(
				`its lora_B bias for ${name} is ${JSON.stringify(tensor.shape)} but ${JSON.stringify(bias.shape)} in the model`,
			);
		}
		const module = name.slice(0, -".bias".length);
		const { r, alpha } = scalingFor(module, adapter);
		patches.set(name, {
			kind: "bias",
			b: tensor,
			scaling: adapter.config.useRslora ? alpha / Math.sqrt(r) : alpha / r,
		});
	}
	for (const [name, tensor] of replacements) {
		const replaced = target(name, "modules_to_save or a trained bias");
		if (!sameShape(replaced.shape, tensor.shape)) {
			throw fail(
				`its copy of ${name} (modules_to_save) is ${JSON.stringify(tensor.shape)} but the model's is ${JSON.stringify(replaced.shape)}${/embed|lm_head/.test(name) ? "; the adapter resized the vocabulary, which needs its tokenizer too" : ""}. Merge it with PEFT's merge_and_unload first`,
			);
		}
		if (patches.has(name)) {
			throw fail(`it both replaces ${name} and adds a LoRA update to it`);
		}
		patches.set(name, { kind: "replace", tensor });
	}
	if (patches.size === 0) {
		throw fail("it holds no LoRA weights (adapter_model.safetensors has no lora_A/lora_B tensors)");
	}
	const warnings: string[] = [];
	const recorded = adapter.config.baseModel;
	if (recorded !== undefined && !recorded.startsWith("/") && recorded !== reference.model.path) {
		warnings.push(
			`LoRA adapter ${adapter.path.path} was trained on ${recorded} (base_model_name_or_path) and is applied to ${reference.model.path}`,
		);
	}
	const { tensors: _tensors, ...rest } = adapter;
	const attached: AttachedAdapter = { ...rest, patches, warnings };
	return { ...model, adapter: attached };
}

/** r and alpha for one module: the first matching `rank_pattern` / `alpha_pattern` key, as PEFT matches them. */
function scalingFor(module: string, adapter: LoadedAdapter): { r: number; alpha: number } {
	const { config } = adapter;
	return {
		r: matchPattern(config.rankPattern, module) ?? config.r,
		alpha: matchPattern(config.alphaPattern, module) ?? config.alpha,
	};
}

/** PEFT's rule: a pattern key matches a module whose name ends with it after a dot (or is it), as a regex. */
function matchPattern(patterns: Readonly<Record<string, number>>, module: string): number | undefined {
	for (const [key, value] of Object.entries(patterns)) {
		let pattern: RegExp;
		try {
			pattern = new RegExp(`^(.*\\.)?(${key})$`);
		} catch {
			continue;
		}
		if (pattern.test(module)) {
			return value;
		}
	}
	return undefined;
}
