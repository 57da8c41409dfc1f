import { interpretReport } from "./interpret-report.js";
import type { MergeReport } from "./merge-report.js";
import { renderMarkdownTable } from "./render-markdown-table.js";
import { reportTable } from "./report-table.js";

export const CHART_TITLES: Readonly<Record<string, string>> = {
	"charts/sign-conflict.svg": "Sign conflict per layer",
	"charts/contribution.svg": "Contribution to the change per layer",
	"charts/similarity.svg": "Task-vector similarity",
};

/**
 * The card's account of what the merge did: the interpretation, the compact table and the charts (paths relative to
 * the card), pointing at merge-report.json for the rest.
 */
export function renderReportMarkdown(report: MergeReport, charts: readonly string[]): string {
	const parts = [interpretReport(report).join(" ")];
	if (report.overall.elements > 0) {
		parts.push(renderMarkdownTable(reportTable(report)));
	}
	for (const chart of charts) {
		const title = CHART_TITLES[chart] ?? chart;
		parts.push(`[![${title}](${chart})](${chart})`);
	}
	if (report.overall.elements > 0) {
		parts.push(
			"Measured while merging, per tensor (those of a million elements or more on a fixed eighth of their blocks of 4096 elements, scaled to the whole), and aggregated per layer and module in `merge-report.json` (task-vector norms, pairwise cosines, sign conflict and who won it, kept fraction after pruning, each model's share of the final change).",
		);
	}
	return parts.join("\n\n");
}
