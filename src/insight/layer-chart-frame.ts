import { AXIS_COLOR, GRID_COLOR } from "./chart-style.js";
import { escapeXml } from "./escape-xml.js";
import { formatPercent } from "./format-percent.js";
import { wrapText } from "./wrap-text.js";

export interface LayerChartFrame {
	/** Axes, grid, tick labels and titles. */
	elements: string[];
	/** Left edge of layer slot i. */
	x(slot: number): number;
	/** Height in pixels from 0 to a value. */
	y(value: number): number;
	slotWidth: number;
	/** The y of the zero line, and of the plot's top edge. */
	bottom: number;
	plotTop: number;
	width: number;
	height: number;
}

/** The frame of a per-layer bar chart with a percentage y axis from 0 to `top`. */
export function layerChartFrame(options: {
	layers: readonly number[];
	top: number;
	title: string;
	subtitle: string;
	/** Room at the right for a legend. */
	legendWidth?: number;
}): LayerChartFrame {
	const { layers, top, title, subtitle } = options;
	const left = 56;
	const right = 16 + (options.legendWidth ?? 0);
	// At least 480 pixels of plot, so that a model with few layers still has room for the titles.
	const plotWidth = Math.max(480, Math.min(36, Math.floor(720 / Math.max(1, layers.length))) * layers.length);
	const slotWidth = plotWidth / Math.max(1, layers.length);
	const width = left + plotWidth + right;
	// About 6.6 pixels per character of 12-pixel text.
	const subtitleLines = wrapText(subtitle, Math.floor((width - left - 16) / 6.6));
	const plotTop = 46 + subtitleLines.length * 16;
	const plotHeight = 200;
	const height = plotTop + plotHeight + 48;
	const bottom = plotTop + plotHeight;
	const y = (value: number): number => (Math.max(0, Math.min(value, top)) / top) * plotHeight;
	const x = (slot: number): number => left + slot * slotWidth;
	const elements: string[] = [
		`<text x="${left}" y="20" font-size="15" font-weight="600" fill="#222222">${escapeXml(title)}</text>`,
		...subtitleLines.map(
			(line, i) => `<text x="${left}" y="${38 + i * 16}" fill="${AXIS_COLOR}">${escapeXml(line)}</text>`,
		),
	];
	// Steps of 0.2, 0.5 or 1 × a power of ten: five ticks, or four when the top is 2 × 10ⁿ.
	const leading = top / 10 ** Math.floor(Math.log10(top));
	const ticks = Math.abs(leading - 2) < 1e-9 ? 4 : 5;
	for (let i = 0; i <= ticks; i++) {
		const value = (top * i) / ticks;
		const at = round(bottom - y(value));
		elements.push(
			`<line x1="${left}" y1="${at}" x2="${x(layers.length)}" y2="${at}" stroke="${i === 0 ? AXIS_COLOR : GRID_COLOR}" stroke-width="1"/>`,
			`<text x="${left - 6}" y="${at + 4}" text-anchor="end" fill="${AXIS_COLOR}">${escapeXml(formatPercent(value))}</text>`,
		);
	}
	// Label every layer while they fit, else every n-th.
	const every = Math.max(1, Math.ceil(24 / slotWidth));
	layers.forEach((layer, slot) => {
		if (slot % every === 0 || slot === layers.length - 1) {
			elements.push(
				`<text x="${round(x(slot) + slotWidth / 2)}" y="${bottom + 16}" text-anchor="middle" fill="${AXIS_COLOR}">${layer}</text>`,
			);
		}
	});
	elements.push(
		`<text x="${round(left + (slotWidth * layers.length) / 2)}" y="${bottom + 36}" text-anchor="middle" fill="${AXIS_COLOR}">layer</text>`,
	);
	return { elements, x, y, slotWidth, bottom, plotTop, width, height };
}

export function round(value: number): number {
	return Math.round(value * 10) / 10;
}
