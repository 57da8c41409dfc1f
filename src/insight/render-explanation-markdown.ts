import type { Explanation } from "./explanation.js";
import { renderMarkdownTable } from "./render-markdown-table.js";

/**
 * The explanation as markdown for the bot: the findings as a list first (what needs attention), then the full
 * account folded into a `<details>` block so that a preflight answer stays short.
 */
export function renderExplanationMarkdown(explanation: Explanation, options: { details?: boolean } = {}): string {
	const parts: string[] = [];
	if (explanation.findings.length > 0) {
		parts.push(
			explanation.findings.map((finding) => `- ${finding.level === "warning" ? "⚠️ " : "ℹ️ "}${finding.text}`).join("\n"),
		);
	}
	if (options.details !== false) {
		const body = explanation.sections.flatMap((section) => [
			`**${section.title}**`,
			...section.paragraphs,
			...(section.table ? [renderMarkdownTable(section.table)] : []),
		]);
		parts.push(`<details><summary>What this recipe does</summary>\n\n${body.join("\n\n")}\n\n</details>`);
	}
	return parts.join("\n\n");
}
