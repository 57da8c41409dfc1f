import type { ParameterDef } from "../../methods/merge-method.js";
import { MERGE_METHODS } from "../../methods/registry.js";
import { EXIT } from "../exit-codes.js";
import type { CliIo } from "../main.js";

function describeParameter(def: ParameterDef): string {
	const value = def.default !== undefined ? `=${def.default}` : def.required ? " (required)" : "";
	return `${def.name}${value}`;
}

/** The registry as a table: name, label, base model use, parameters. */
export function methodsCommand(_args: readonly string[], io: CliIo): number {
	const rows = MERGE_METHODS.map((method) => [
		method.name,
		method.displayName,
		method.requiresBase ? "required" : method.baseRole === "ignored" ? "unused" : "optional",
		method.parameters
			.filter((p) => p.scope === "per-model")
			.map(describeParameter)
			.join(", ") || "-",
		method.parameters
			.filter((p) => p.scope === "global")
			.map(describeParameter)
			.join(", ") || "-",
	]);
	const header = ["method", "name", "base_model", "per-model parameters", "global parameters"];
	const widths = header.map((title, column) =>
		Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
	);
	const line = (cells: string[]): string =>
		cells
			.map((cell, column) => cell.padEnd(widths[column] as number))
			.join("  ")
			.trimEnd();
	io.stdout.write(`${[line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n")}\n`);
	return EXIT.ok;
}
