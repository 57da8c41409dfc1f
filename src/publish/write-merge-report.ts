import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { MergeReport } from "../insight/merge-report.js";
import { renderContributionChart } from "../insight/render-contribution-chart.js";
import { renderSignConflictChart } from "../insight/render-sign-conflict-chart.js";
import { renderSimilarityChart } from "../insight/render-similarity-chart.js";

/**
 * Writes `merge-report.json` and the charts that have something to show under `charts/`; returns the paths written,
 * relative to `outDir` (the charts are what the card links).
 */
export async function writeMergeReport(
	report: MergeReport,
	outDir: string,
): Promise<{ files: string[]; charts: string[] }> {
	await writeFile(join(outDir, "merge-report.json"), `${JSON.stringify(report, null, "\t")}\n`);
	const rendered = [
		["charts/sign-conflict.svg", renderSignConflictChart(report)],
		["charts/contribution.svg", renderContributionChart(report)],
		["charts/similarity.svg", renderSimilarityChart(report)],
	] as const;
	const charts: string[] = [];
	for (const [path, svg] of rendered) {
		if (svg !== undefined) {
			await mkdir(join(outDir, "charts"), { recursive: true });
			await writeFile(join(outDir, path), svg);
			charts.push(path);
		}
	}
	return { files: ["merge-report.json", ...charts], charts };
}
