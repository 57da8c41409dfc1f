import { formatPercent } from "./format-percent.js";
import { interpretReport } from "./interpret-report.js";
import type { MergeReport } from "./merge-report.js";
import { renderTextTable } from "./render-text-table.js";
import { reportTable } from "./report-table.js";
import { shortModelNames } from "./short-model-names.js";

/** `explain --measure` on a terminal: the interpretation, the module table and a per-layer table. */
export function renderReportText(report: MergeReport): string {
	const lines = ["What the merge does to the weights (measured):", ""];
	for (const sentence of interpretReport(report)) {
		lines.push(`  ${sentence}`);
	}
	if (report.overall.elements > 0) {
		lines.push("", renderTextTable(reportTable(report)));
		const names = shortModelNames(report.models, 16);
		const twoOrMore = report.models.length >= 2;
		if (report.layers.length > 0) {
			lines.push(
				"",
				renderTextTable({
					header: [
						"layer",
						"change",
						...(twoOrMore ? ["conflict", "cosine"] : []),
						...names.map((name) => `share ${name}`),
					],
					rows: report.layers.map((layer) => [
						String(layer.layer),
						formatPercent(layer.relativeChange),
						...(twoOrMore
							? [
									formatPercent(layer.signConflict),
									layer.meanTaskVectorCosine === null ? "–" : layer.meanTaskVectorCosine.toFixed(2),
								]
							: []),
						...layer.models.map((model) => formatPercent(model.share)),
					]),
				}),
			);
		}
	}
	return `${lines.join("\n")}\n`;
}
