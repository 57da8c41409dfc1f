/** Rows of cells under a header, rendered as markdown or aligned text. */
export interface TextTable {
	header: string[];
	rows: string[][];
}
