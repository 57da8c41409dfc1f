import type { Explanation } from "./explanation.js";
import { renderTextTable } from "./render-text-table.js";

/** `mergesmith explain` on a terminal. */
export function renderExplanationText(explanation: Explanation): string {
	const lines: string[] = [];
	for (const section of explanation.sections) {
		lines.push(`${section.title}:`);
		for (const paragraph of section.paragraphs) {
			lines.push(`  ${paragraph}`);
		}
		if (section.table) {
			lines.push(renderTextTable(section.table, "    "));
		}
		lines.push("");
	}
	if (explanation.findings.length > 0) {
		lines.push("Findings:");
		for (const finding of explanation.findings) {
			lines.push(`  ${finding.level === "warning" ? "warning" : "note"}: ${finding.text}`);
		}
	} else {
		lines.push("Findings: none; every setting does what it says.");
	}
	return `${lines.join("\n")}\n`;
}
