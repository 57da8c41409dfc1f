import { readFile } from "node:fs/promises";

/** The template names mergekit ships (spec §4.4); ours are in templates/chat/. */
export const BUILT_IN_CHAT_TEMPLATES: readonly string[] = ["alpaca", "chatml", "exaone", "llama3", "mistral"];

const TEMPLATE_DIR = new URL("../../templates/chat/", import.meta.url);

/**
 * The template text for a recipe's `chat_template` (spec §4.4): `auto` takes the most common of the input models'
 * templates, whitespace-trimmed (the first seen wins a tie; undefined when no model has one); a built-in name gives
 * its template; anything else is a literal template, used as written.
 */
export async function chooseChatTemplate(
	option: string,
	modelTemplates: readonly (string | undefined)[],
): Promise<string | undefined> {
	if (option === "auto") {
		const counts = new Map<string, number>();
		for (const template of modelTemplates) {
			const trimmed = template?.trim();
			if (trimmed) {
				counts.set(trimmed, (counts.get(trimmed) ?? 0) + 1);
			}
		}
		let best: string | undefined;
		let bestCount = 0;
		for (const [template, count] of counts) {
			if (count > bestCount) {
				best = template;
				bestCount = count;
			}
		}
		return best;
	}
	if (BUILT_IN_CHAT_TEMPLATES.includes(option)) {
		return readFile(new URL(`${option}.jinja`, TEMPLATE_DIR), "utf8");
	}
	return option;
}
