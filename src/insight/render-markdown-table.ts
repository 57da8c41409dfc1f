import type { TextTable } from "./text-table.js";

export function renderMarkdownTable(table: TextTable): string {
	const cell = (text: string): string => text.replace(/\|/g, "\\|");
	return [
		`| ${table.header.map(cell).join(" | ")} |`,
		`| ${table.header.map(() => "---").join(" | ")} |`,
		...table.rows.map((row) => `| ${row.map(cell).join(" | ")} |`),
	].join("\n");
}
