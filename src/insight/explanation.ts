import type { TextTable } from "./text-table.js";

/** One note for a person: `warning` for settings that do nothing or look like mistakes, `info` for what to know. */
export interface Finding {
	level: "info" | "warning";
	text: string;
}

export interface ExplanationSection {
	title: string;
	paragraphs: string[];
	table?: TextTable;
}

/** `mergesmith explain`: what a recipe will do, in plain language, from the registry and the plan. */
export interface Explanation {
	method: string;
	/** The recipe's base model reference, if any. */
	base: string | undefined;
	sections: ExplanationSection[];
	/** The notes the bot shows in its preflight answer; also printed by the CLI. */
	findings: Finding[];
}
