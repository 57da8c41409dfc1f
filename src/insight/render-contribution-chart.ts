import { MODEL_COLORS } from "./chart-style.js";
import { escapeXml } from "./escape-xml.js";
import { formatPercent } from "./format-percent.js";
import { layerChartFrame, round } from "./layer-chart-frame.js";
import type { MergeReport } from "./merge-report.js";
import { niceCeiling } from "./nice-ceiling.js";
import { shortModelNames } from "./short-model-names.js";
import { svgDocument } from "./svg-document.js";

const UNEXPLAINED = "#bbbbbb";

/**
 * `charts/contribution.svg`: per layer, each model's share of the final change as stacked bars, with the part no
 * combination of the task vectors explains (pruning, sign election) in grey. Negative shares (a model the merge
 * moved away from) are drawn as zero and named in the bar's tooltip. Undefined when there is nothing to draw.
 */
export function renderContributionChart(report: MergeReport): string | undefined {
	const layers = report.layers.filter((layer) => layer.explained !== null);
	if (layers.length === 0 || report.models.length === 0) {
		return undefined;
	}
	const labels = shortModelNames(report.models, 22);
	const stacks = layers.map((layer) => {
		const parts = layer.models.map((model) => Math.max(0, model.share ?? 0));
		return { layer, parts, rest: Math.max(0, 1 - (layer.explained ?? 0)) };
	});
	const top = niceCeiling(Math.max(1, ...stacks.map((stack) => stack.parts.reduce((a, b) => a + b, 0) + stack.rest)));
	const legendWidth = 24 + 7 * Math.max(...labels.map((label) => label.length), 12);
	const frame = layerChartFrame({
		layers: layers.map((layer) => layer.layer),
		top,
		title: "Contribution to the change, per layer",
		subtitle: "Each model's share of the final change from the base (grey: not a combination of the task vectors)",
		legendWidth,
	});
	const body: string[] = [];
	stacks.forEach(({ layer, parts, rest }, slot) => {
		let offset = 0;
		const w = round(Math.min(frame.slotWidth * 0.7, 48));
		const x = round(frame.x(slot) + (frame.slotWidth - w) / 2);
		const segments = [...parts.map((value, i) => ({ value, i })), { value: rest, i: -1 }];
		for (const { value, i } of segments) {
			if (value <= 0) {
				continue;
			}
			const y0 = frame.bottom - frame.y(offset);
			offset += value;
			const y1 = frame.bottom - frame.y(offset);
			const name = i < 0 ? "not explained" : (labels[i] ?? "");
			const share = i < 0 ? rest : (layer.models[i]?.share ?? 0);
			body.push(
				`<rect x="${x}" y="${round(y1)}" width="${w}" height="${round(y0 - y1)}" fill="${i < 0 ? UNEXPLAINED : color(i)}"><title>${escapeXml(`layer ${layer.layer}, ${name}: ${formatPercent(share)}`)}</title></rect>`,
			);
		}
	});
	const legendX = frame.x(layers.length) + 20;
	const entries = [
		...labels.map((label, i) => ({ label, fill: color(i) })),
		{ label: "not explained", fill: UNEXPLAINED },
	];
	entries.forEach(({ label, fill }, i) => {
		const y = frame.plotTop + 10 + i * 20;
		body.push(
			`<rect x="${legendX}" y="${y - 10}" width="12" height="12" fill="${fill}"/>`,
			`<text x="${legendX + 18}" y="${y}" fill="#222222">${escapeXml(label)}</text>`,
		);
	});
	return svgDocument(frame.width, frame.height, "Contribution to the change, per layer", [...frame.elements, ...body]);
}

function color(i: number): string {
	return MODEL_COLORS[i % MODEL_COLORS.length] as string;
}
