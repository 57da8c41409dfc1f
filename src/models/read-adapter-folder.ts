import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ModelPath, ModelReference } from "../recipe/recipe.js";
import { SafetensorsFile } from "../safetensors/safetensors-file.js";
import type { StoredTensor } from "./load-model.js";
import type { LoadedAdapter } from "./lora-adapter.js";
import { ModelError } from "./model-error.js";
import { parseAdapterConfig } from "./parse-adapter-config.js";
import { readCardLicense } from "./read-card-license.js";

export const ADAPTER_CONFIG = "adapter_config.json";
export const ADAPTER_WEIGHTS = "adapter_model.safetensors";

/**
 * Opens a PEFT adapter folder (a local folder or a cache snapshot): checks adapter_config.json first, so that an
 * adapter mergesmith cannot apply is refused before its weights are looked at, then reads the weights' header.
 */
export async function readAdapterFolder(
	reference: ModelReference,
	lora: ModelPath,
	dir: string,
	source: { origin: LoadedAdapter["origin"]; commit: string | undefined; license?: string | undefined },
): Promise<LoadedAdapter> {
	const fail = (message: string): ModelError =>
		new ModelError(reference.key, `LoRA adapter ${lora.path}: ${message}`, reference.span);
	const configFile = join(dir, ADAPTER_CONFIG);
	if (!existsSync(configFile)) {
		throw fail(
			existsSync(join(dir, "config.json"))
				? `${dir} is a whole model, not a PEFT adapter (it has config.json but no ${ADAPTER_CONFIG}); list it as a model of its own instead of after \`+\``
				: `${dir} has no ${ADAPTER_CONFIG}; the part after \`+\` must be a PEFT LoRA adapter`,
		);
	}
	const config = checkAdapterConfig(await readFile(configFile, "utf8"), fail);
	const weightsFile = join(dir, ADAPTER_WEIGHTS);
	if (!existsSync(weightsFile)) {
		throw fail(
			existsSync(join(dir, "adapter_model.bin"))
				? `${dir} has only pickled weights (adapter_model.bin). mergesmith reads safetensors only, because unpickling can run arbitrary code; convert the adapter to safetensors`
				: `${dir} has no ${ADAPTER_WEIGHTS}`,
		);
	}
	const file = await SafetensorsFile.open(weightsFile);
	const tensors = new Map<string, StoredTensor>();
	try {
		for (const [name, info] of file.tensors) {
			tensors.set(name, { ...info, file: weightsFile });
		}
	} finally {
		await file.close();
	}
	return {
		path: lora,
		dir,
		origin: source.origin,
		commit: source.commit,
		config,
		tensors,
		license: source.license ?? (await readCardLicense(dir)),
	};
}

/** Parses and checks adapter_config.json's text, failing with the reason the adapter cannot be applied. */
export function checkAdapterConfig(
	text: string,
	fail: (message: string) => Error,
): Exclude<ReturnType<typeof parseAdapterConfig>, string> {
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch (error) {
		throw fail(`${ADAPTER_CONFIG} is not valid JSON (${(error as Error).message})`);
	}
	const config = parseAdapterConfig(json);
	if (typeof config === "string") {
		throw fail(config);
	}
	return config;
}
