import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { indexTokenizer } from "./index-tokenizer.js";
import { modelChatTemplate } from "./model-chat-template.js";
import type { FastTokenizer, ModelTokenizer } from "./tokenizer-data.js";

/** Reads a model folder's tokenizer.json, tokenizer_config.json and chat template. Throws on unreadable files. */
export async function readTokenizer(dir: string): Promise<ModelTokenizer> {
	const readJson = async (name: string): Promise<unknown> => {
		const path = join(dir, name);
		if (!existsSync(path)) {
			return undefined;
		}
		try {
			return JSON.parse(await readFile(path, "utf8"));
		} catch (error) {
			throw new Error(`${path} is not valid JSON (${(error as Error).message})`);
		}
	};
	const rawTokenizer = await readJson("tokenizer.json");
	let tokenizer: FastTokenizer | undefined;
	if (rawTokenizer !== undefined) {
		try {
			tokenizer = indexTokenizer(rawTokenizer);
		} catch (error) {
			throw new Error(`${join(dir, "tokenizer.json")}: ${(error as Error).message}`);
		}
	}
	const rawConfig = await readJson("tokenizer_config.json");
	const config =
		typeof rawConfig === "object" && rawConfig !== null && !Array.isArray(rawConfig)
			? (rawConfig as Record<string, unknown>)
			: undefined;
	const jinjaPath = join(dir, "chat_template.jinja");
	const jinja = existsSync(jinjaPath) ? await readFile(jinjaPath, "utf8") : undefined;
	return {
		dir,
		tokenizer,
		config,
		hasSentencePiece: existsSync(join(dir, "tokenizer.model")),
		chatTemplate: modelChatTemplate(config, jinja),
	};
}
