/** Small helpers for the bench: quantiles and a table printer. The bench prints figures; it asserts nothing. */

export function quantile(values: readonly number[], q: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	if (sorted.length === 0) {
		return Number.NaN;
	}
	const position = (sorted.length - 1) * q;
	const lower = Math.floor(position);
	const upper = Math.ceil(position);
	return (sorted[lower] as number) + ((sorted[upper] as number) - (sorted[lower] as number)) * (position - lower);
}

export function printTable(title: string, header: readonly string[], rows: readonly (readonly string[])[]): void {
	const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? "").length)));
	const line = (cells: readonly string[]): string =>
		cells
			.map((cell, column) => cell.padEnd(widths[column] as number))
			.join("  ")
			.trimEnd();
	console.log(
		`\n${title}\n${line(header)}\n${line(widths.map((width) => "-".repeat(width)))}\n${rows.map(line).join("\n")}`,
	);
}
