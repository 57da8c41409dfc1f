import type { Diagnostic } from "./recipe.js";

export type FoundRecipe =
	| {
			ok: true;
			/** The recipe's own text, lines joined with `\n`. */
			text: string;
			/** Lines of the original text before the recipe's first line: pass it to `parseRecipe`. */
			lineOffset: number;
	  }
	| { ok: false; error: Diagnostic };

interface Fence {
	info: string;
	/** 0-based index of the first content line. */
	start: number;
	lines: string[];
}

const MERGE_METHOD_LINE = /^[ \t]*(?:-[ \t]+)?["']?merge_method["']?[ \t]*:/m;
/** A line that can begin a YAML recipe: a `key:`, a comment, or a document marker. */
const YAML_START = /^(?:---|#|["']?[A-Za-z_][\w.-]*["']?[ \t]*:(?:[ \t]|$))/;
/** Prose at the left margin: not indented and not YAML-looking. */
const YAML_LINE = /^(?:$|[ \t]|-[ \t]|-$|---|\.\.\.|#|["']?[A-Za-z_][\w.-]*["']?[ \t]*:(?:[ \t]|$)|[[\]{}])/;

/**
 * Finds a recipe in a chat message or discussion comment: the fenced code block (```yaml, ```yml,
 * ``` or ~~~) that contains `merge_method`, preferring one labelled yaml; otherwise, with no
 * fence, the YAML-looking lines around a `merge_method:` line. Diagnostics of the recipe can name
 * lines of the whole message by passing `lineOffset` to `parseRecipe`.
 */
export function findRecipeInText(message: string): FoundRecipe {
	const lines = message.split(/\r\n|\r|\n/);
	const fences = findFences(lines);
	const isYaml = (fence: Fence): boolean => /^(?:yaml|yml)$/i.test(fence.info);
	const withMethod = fences.filter((fence) => MERGE_METHOD_LINE.test(fence.lines.join("\n")));
	const chosen = withMethod.find(isYaml) ?? withMethod[0] ?? fences.find(isYaml);
	if (chosen !== undefined) {
		return { ok: true, text: chosen.lines.join("\n"), lineOffset: chosen.start };
	}
	if (fences.length === 0 && MERGE_METHOD_LINE.test(message)) {
		// Trim chat prose at the margin before and after the YAML, keep everything in between.
		let first = lines.findIndex((line) => YAML_START.test(line));
		if (first < 0) {
			first = 0;
		}
		let last = lines.length - 1;
		const hasProse = lines.slice(first).some((line) => !YAML_LINE.test(line));
		while (hasProse && last > first && (!YAML_LINE.test(lines[last] ?? "") || (lines[last] ?? "").trim() === "")) {
			last--;
		}
		return { ok: true, text: lines.slice(first, last + 1).join("\n"), lineOffset: first };
	}
	const note =
		fences.length > 0
			? `the message has ${fences.length} code block${fences.length > 1 ? "s" : ""}, but none holds a \`merge_method:\` line`
			: "the message has no code block and no `merge_method:` line";
	return {
		ok: false,
		error: {
			severity: "error",
			message: `no merge recipe found: ${note}. Paste the YAML recipe in a code block, between a \`\`\`yaml line and a \`\`\` line`,
		},
	};
}

/** CommonMark fenced code blocks: three or more backticks or tildes; an unclosed fence runs to the end. */
function findFences(lines: readonly string[]): Fence[] {
	const fences: Fence[] = [];
	let index = 0;
	while (index < lines.length) {
		const open = /^([ \t]*)(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$/.exec(lines[index] ?? "");
		if (open === null) {
			index++;
			continue;
		}
		const marker = open[2] ?? "```";
		const start = index + 1;
		let end = start;
		while (end < lines.length) {
			const close = /^[ \t]*(`{3,}|~{3,})[ \t]*$/.exec(lines[end] ?? "");
			if (close?.[1] !== undefined && close[1][0] === marker[0] && close[1].length >= marker.length) {
				break;
			}
			end++;
		}
		fences.push({ info: open[3] ?? "", start, lines: lines.slice(start, end) });
		index = end + 1;
	}
	return fences;
}
