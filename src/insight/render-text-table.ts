import type { TextTable } from "./text-table.js";

/** Columns padded to their widest cell, two spaces apart, each line indented by `indent`. */
export function renderTextTable(table: TextTable, indent = "  "): string {
	const all = [table.header, ...table.rows];
	const widths = table.header.map((_, c) => Math.max(...all.map((row) => [...(row[c] ?? "")].length)));
	const line = (row: readonly string[]): string =>
		`${indent}${row.map((text, c) => text.padEnd((widths[c] ?? 0) + text.length - [...text].length)).join("  ")}`.trimEnd();
	return all.map(line).join("\n");
}
