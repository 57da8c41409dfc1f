import { escapeXml } from "./escape-xml.js";
import { formatPercent } from "./format-percent.js";
import { layerChartFrame, round } from "./layer-chart-frame.js";
import type { MergeReport } from "./merge-report.js";
import { niceCeiling } from "./nice-ceiling.js";
import { svgDocument } from "./svg-document.js";

/**
 * `charts/sign-conflict.svg`: per layer, the share of elements where the task vectors' signs disagree, with the
 * whole model's share as a dashed line. Undefined when there is nothing to draw (fewer than two models, no base).
 */
export function renderSignConflictChart(report: MergeReport): string | undefined {
	const layers = report.layers.filter((layer) => layer.signConflict !== null);
	const overall = report.overall.signConflict;
	if (layers.length === 0 || overall === null) {
		return undefined;
	}
	const values = layers.map((layer) => layer.signConflict ?? 0);
	const top = niceCeiling(Math.max(...values, overall));
	const frame = layerChartFrame({
		layers: layers.map((layer) => layer.layer),
		top,
		title: "Sign conflict per layer",
		subtitle: `Share of weights where the models' changes from the base point in opposite directions (dashed: whole model, ${formatPercent(overall)})`,
	});
	const bars = layers.map((layer, slot) => {
		const value = layer.signConflict ?? 0;
		const h = round(frame.y(value));
		const w = Math.min(frame.slotWidth * 0.7, 48);
		return `<rect x="${round(frame.x(slot) + (frame.slotWidth - w) / 2)}" y="${round(frame.bottom - h)}" width="${round(w)}" height="${h}" fill="#0072B2"><title>${escapeXml(`layer ${layer.layer}: ${formatPercent(value)}`)}</title></rect>`;
	});
	const mean = round(frame.bottom - frame.y(overall));
	bars.push(
		`<line x1="${frame.x(0)}" y1="${mean}" x2="${frame.x(layers.length)}" y2="${mean}" stroke="#D55E00" stroke-width="1.5" stroke-dasharray="5 4"/>`,
	);
	return svgDocument(frame.width, frame.height, "Sign conflict per layer", [...frame.elements, ...bars]);
}
