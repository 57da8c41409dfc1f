import { AXIS_COLOR } from "./chart-style.js";
import { escapeXml } from "./escape-xml.js";
import type { MergeReport } from "./merge-report.js";
import { shortModelNames } from "./short-model-names.js";
import { svgDocument } from "./svg-document.js";
import { wrapText } from "./wrap-text.js";

/**
 * `charts/similarity.svg`: the cosine similarity of every pair of task vectors over the whole model, plus each one's
 * cosine with the final change (the last row and column), as a red (aligned) – white – blue (opposed) matrix.
 * Undefined without task vectors.
 */
export function renderSimilarityChart(report: MergeReport): string | undefined {
	const { overall } = report;
	if (report.models.length === 0 || overall.elements === 0) {
		return undefined;
	}
	const labels = [...shortModelNames(report.models, 20), "final change"];
	const k = report.models.length;
	const value = (i: number, m: number): number | null => {
		if (i < k && m < k) {
			return overall.similarity[i]?.[m] ?? null;
		}
		if (i === k && m === k) {
			return 1;
		}
		return overall.models[Math.min(i, m)]?.deltaCosine ?? null;
	};
	const cell = 72;
	const longest = Math.max(...labels.map((label) => label.length));
	const left = 20 + 7 * longest;
	const size = labels.length * cell;
	// Room above the matrix for the column labels, drawn at 30° (about 3.5 pixels of height per character).
	const width = Math.max(left + size + 20 + 6 * longest, 520);
	const subtitle = wrapText(
		"Cosine of the models' changes from the base over the whole model (1: same direction, 0: unrelated, −1: opposite); last row and column: the final change",
		Math.floor((width - 40) / 6.6),
	);
	const top = 44 + subtitle.length * 16 + Math.ceil(3.5 * longest) + 16;
	const height = top + size + 24;
	const body: string[] = [
		'<text x="20" y="24" font-size="15" font-weight="600" fill="#222222">Task-vector similarity</text>',
		...subtitle.map((line, i) => `<text x="20" y="${42 + i * 16}" fill="${AXIS_COLOR}">${escapeXml(line)}</text>`),
	];
	labels.forEach((label, i) => {
		const center = left + i * cell + cell / 2;
		body.push(
			`<text x="${left - 8}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end" fill="#222222">${escapeXml(label)}</text>`,
			`<text x="${center}" y="${top - 10}" text-anchor="start" transform="rotate(-30 ${center} ${top - 10})" fill="#222222">${escapeXml(label)}</text>`,
		);
	});
	for (let i = 0; i < labels.length; i++) {
		for (let m = 0; m < labels.length; m++) {
			const v = value(i, m);
			const x = left + m * cell;
			const y = top + i * cell;
			const text = v === null ? "–" : v.toFixed(2);
			body.push(
				`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill(v)}" stroke="#ffffff" stroke-width="2"><title>${escapeXml(`${labels[i]} · ${labels[m]}: ${text}`)}</title></rect>`,
				`<text x="${x + cell / 2}" y="${y + cell / 2 + 5}" text-anchor="middle" font-size="14" fill="${v !== null && Math.abs(v) > 0.6 ? "#ffffff" : "#222222"}">${text}</text>`,
			);
		}
	}
	// The final change's row and column are set off by a rule.
	const rule = left + k * cell;
	body.push(
		`<line x1="${rule}" y1="${top}" x2="${rule}" y2="${top + size}" stroke="#222222" stroke-width="1.5"/>`,
		`<line x1="${left}" y1="${top + k * cell}" x2="${left + size}" y2="${top + k * cell}" stroke="#222222" stroke-width="1.5"/>`,
	);
	return svgDocument(width, height, "Task-vector similarity", body);
}

/** White at 0, towards #B2182B at +1 and #2166AC at −1; grey for undefined. */
function fill(value: number | null): string {
	if (value === null) {
		return "#eeeeee";
	}
	const t = Math.min(1, Math.abs(value));
	const [r, g, b] = value >= 0 ? [178, 24, 43] : [33, 102, 172];
	const mix = (channel: number): string =>
		Math.round(255 + (channel - 255) * t)
			.toString(16)
			.padStart(2, "0");
	return `#${mix(r)}${mix(g)}${mix(b)}`;
}
