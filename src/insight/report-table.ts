import { formatPercent } from "./format-percent.js";
import type { GroupStats, MergeReport } from "./merge-report.js";
import { shortModelNames } from "./short-model-names.js";

/** The card's compact table: one row per module and one for the whole model. */
export function reportTable(report: MergeReport): { header: string[]; rows: string[][] } {
	const names = shortModelNames(report.models, 20);
	const twoOrMore = report.models.length >= 2;
	const header = [
		"Part",
		"Tensors",
		"Change ‖Δ‖/‖B‖",
		...(twoOrMore ? ["Sign conflict", "Task-vector cosine"] : []),
		...names.map((name) => `Share: ${name}`),
	];
	const row = (label: string, group: GroupStats): string[] => [
		label,
		String(group.tensors),
		formatPercent(group.relativeChange),
		...(twoOrMore
			? [
					formatPercent(group.signConflict),
					group.meanTaskVectorCosine === null ? "–" : group.meanTaskVectorCosine.toFixed(2),
				]
			: []),
		...group.models.map((model) => formatPercent(model.share)),
	];
	return {
		header,
		rows: [...report.modules.map((group) => row(group.module, group)), row("whole model", report.overall)],
	};
}
