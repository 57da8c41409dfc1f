import { existsSync } from "node:fs";
import { copyFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TokenizerOutput } from "./tokenizer-plan.js";

/** Slow-tokenizer files that no longer match a rebuilt vocabulary; a rebuilt tokenizer is a fast one only. */
const STALE_WITH_NEW_VOCABULARY = [
	"tokenizer.json",
	"tokenizer.model",
	"added_tokens.json",
	"merges.txt",
	"vocab.json",
];
/** Files a chosen chat template replaces (chat_template.json would override it in processors). */
const STALE_WITH_NEW_TEMPLATE = ["chat_template.jinja", "chat_template.json"];

/**
 * Writes the output's tokenizer files (spec §5.4): the `carried` files the tokenizer donor has, except those a
 * rebuilt tokenizer or a chosen chat template replaces, then the rebuilt tokenizer.json, the updated
 * tokenizer_config.json and chat_template.jinja. Returns the names written.
 */
export async function writeTokenizerFiles(
	output: TokenizerOutput,
	outDir: string,
	carried: readonly string[],
): Promise<string[]> {
	const skip = new Set<string>([
		...(output.tokenizerJson === undefined ? [] : STALE_WITH_NEW_VOCABULARY),
		...(output.tokenizerConfig === undefined ? [] : ["tokenizer_config.json"]),
		...(output.chatTemplate === undefined ? [] : STALE_WITH_NEW_TEMPLATE),
	]);
	const written: string[] = [];
	for (const name of carried) {
		const source = join(output.donorDir, name);
		if (!skip.has(name) && existsSync(source)) {
			await copyFile(source, join(outDir, name));
			written.push(name);
		}
	}
	const writeJson = async (name: string, value: unknown): Promise<void> => {
		await writeFile(join(outDir, name), `${JSON.stringify(value, null, 2)}\n`);
		written.push(name);
	};
	if (output.tokenizerJson !== undefined) {
		await writeJson("tokenizer.json", output.tokenizerJson);
	}
	if (output.tokenizerConfig !== undefined) {
		await writeJson("tokenizer_config.json", output.tokenizerConfig);
	}
	if (output.chatTemplate !== undefined) {
		await writeFile(join(outDir, "chat_template.jinja"), output.chatTemplate);
		written.push("chat_template.jinja");
	}
	return written;
}
