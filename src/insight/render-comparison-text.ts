import { formatPercent } from "./format-percent.js";
import type { ComparisonGroup, ModelComparison } from "./model-comparison.js";
import { renderTextTable } from "./render-text-table.js";

/** `mergesmith compare` on a terminal: a verdict, then per module and per layer. */
export function renderComparisonText(comparison: ModelComparison): string {
	const { overall } = comparison;
	const lines: string[] = [`A: ${comparison.a}`, `B: ${comparison.b}`, ""];
	if (overall.tensors === 0) {
		lines.push("The two models have no tensor in common (same name and shape), so there is nothing to compare.");
	} else if (overall.maxAbsDifference === 0) {
		lines.push(`Identical: all ${overall.tensors} tensors in common have exactly the same values.`);
	} else {
		lines.push(
			`A differs from B by ${formatPercent(overall.relativeDifference)} of B's size (‖A−B‖/‖B‖ = ${fixed(overall.relativeDifference)}), cosine ${fixed(overall.cosine)}, largest difference of one weight ${overall.maxAbsDifference}.`,
		);
	}
	const row = (label: string, group: ComparisonGroup): string[] => [
		label,
		String(group.tensors),
		fixed(group.relativeDifference),
		fixed(group.cosine),
		String(group.maxAbsDifference),
	];
	const header = ["", "tensors", "‖A−B‖/‖B‖", "cosine", "max |A−B|"];
	if (overall.tensors > 0) {
		lines.push(
			"",
			renderTextTable({
				header: ["module", ...header.slice(1)],
				rows: [...comparison.modules.map((group) => row(group.module, group)), row("whole model", overall)],
			}),
		);
		if (comparison.layers.length > 0) {
			lines.push(
				"",
				renderTextTable({
					header: ["layer", ...header.slice(1)],
					rows: comparison.layers.map((group) => row(String(group.layer), group)),
				}),
			);
		}
	}
	const missing = [
		comparison.onlyInA.length > 0
			? `${comparison.onlyInA.length} tensor(s) only in A (first: ${comparison.onlyInA[0]})`
			: "",
		comparison.onlyInB.length > 0
			? `${comparison.onlyInB.length} tensor(s) only in B (first: ${comparison.onlyInB[0]})`
			: "",
		comparison.shapeMismatch.length > 0
			? `${comparison.shapeMismatch.length} tensor(s) with different shapes, not compared (first: ${comparison.shapeMismatch[0]})`
			: "",
	].filter(Boolean);
	if (missing.length > 0) {
		lines.push("", ...missing);
	}
	return `${lines.join("\n")}\n`;
}

function fixed(value: number | null): string {
	if (value === null) {
		return "–";
	}
	return value === 0 ? "0" : Math.abs(value) < 1e-3 ? value.toExponential(3) : value.toFixed(6);
}
