import { readFile } from "node:fs/promises";
import { findRecipeInText } from "../recipe/find-recipe-in-text.js";
import { formatDiagnostic } from "./format-diagnostic.js";
import type { Output } from "./progress-printer.js";

/**
 * A recipe file's YAML text, taken out of its code fence when the file is a saved chat or model card, with the
 * lines before it (for diagnostics' line numbers). Undefined, with the reason printed, when there is none.
 */
export async function readRecipeText(
	file: string,
	stderr: Output,
): Promise<{ text: string; lineOffset: number } | undefined> {
	let text: string;
	try {
		text = await readFile(file, "utf8");
	} catch (error) {
		stderr.write(
			`${file}: cannot read the recipe (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})\n`,
		);
		return undefined;
	}
	if (/^(```|~~~)/m.test(text)) {
		// A recipe saved from a chat or a model card, inside a code fence with prose around it.
		const found = findRecipeInText(text);
		if (!found.ok) {
			stderr.write(`${formatDiagnostic(file, found.error)}\n`);
			return undefined;
		}
		return { text: found.text, lineOffset: found.lineOffset };
	}
	return { text, lineOffset: 0 };
}
