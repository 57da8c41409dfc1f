import { CHART_FONT } from "./chart-style.js";
import { escapeXml } from "./escape-xml.js";

/** Wraps chart elements in a standalone SVG document with a white background and an accessible title. */
export function svgDocument(width: number, height: number, title: string, body: readonly string[]): string {
	return [
		'<?xml version="1.0" encoding="UTF-8"?>',
		`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${escapeXml(CHART_FONT)}" font-size="12">`,
		`<title>${escapeXml(title)}</title>`,
		`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
		...body,
		"</svg>",
		"",
	].join("\n");
}
