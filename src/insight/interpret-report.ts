import { formatPercent } from "./format-percent.js";
import type { GroupStats, MergeReport } from "./merge-report.js";
import { shortModelNames } from "./short-model-names.js";

/** A few plain sentences that read the report's numbers for a person; empty when nothing was measured. */
export function interpretReport(report: MergeReport): string[] {
	const { overall } = report;
	if (report.base === null || overall.elements === 0) {
		return [
			report.method === "passthrough"
				? "A passthrough merge copies tensors, so there are no changes from a base to measure."
				: report.base === null
					? `This ${report.method} merge has no base model, so there are no task vectors (changes from a base) to measure.`
					: "No tensor was measured against the base.",
		];
	}
	const names = shortModelNames(report.models);
	const sentences: string[] = [];
	const modules = report.modules.filter((group) => group.relativeChange !== null && group.elements > 0);
	const largest = maxBy(modules, (group) => group.relativeChange ?? 0);
	const smallest = maxBy(modules, (group) => -(group.relativeChange ?? 0));
	const layer = maxBy(report.layers, (group) => group.relativeChange ?? 0);
	let change = `The merge moved the base's weights by ${formatPercent(overall.relativeChange)} of their size (‖Δ‖/‖B‖)`;
	if (largest && smallest && largest !== smallest) {
		change += `: most in the ${largest.module} tensors (${formatPercent(largest.relativeChange)}), least in the ${smallest.module} tensors (${formatPercent(smallest.relativeChange)})`;
	}
	// A layer is worth naming only when it stands out from the others.
	const changes = report.layers.map((group) => group.relativeChange ?? 0).sort((x, y) => x - y);
	const median = changes[Math.floor(changes.length / 2)] ?? 0;
	if (layer && report.layers.length > 1 && (layer.relativeChange ?? 0) > 1.2 * median) {
		change += `; layer ${layer.layer} changed most (${formatPercent(layer.relativeChange)})`;
	}
	sentences.push(`${change}.`);
	const k = report.models.length;
	const cosine = overall.meanTaskVectorCosine;
	if (k >= 2 && cosine !== null) {
		sentences.push(
			`The models' task vectors are ${describeCosine(cosine)} (mean cosine ${cosine.toFixed(2)}): ${cosine >= 0.3 ? "they changed the base in similar directions, so merging them mostly reinforces shared changes" : cosine <= -0.1 ? "they changed the base in opposing directions and partly cancel out" : "they changed mostly different things, so each keeps its own changes but they also dilute one another"}.`,
		);
	}
	if (overall.signConflict !== null) {
		const unrelated = 1 - 2 ** (1 - k);
		const wins = overall.models.filter((model) => model.conflictWins !== null);
		let conflict = `Their signs disagree on ${formatPercent(overall.signConflict)} of the weights (changes with unrelated signs would disagree on ${formatPercent(unrelated)})`;
		if (wins.length >= 2) {
			conflict += `; where they disagree, the merged weights moved with ${list(wins.map((model) => `${label(names, report, model.model)} in ${formatPercent(model.conflictWins)}`))} of the cases`;
			if ((overall.conflictAtBase ?? 0) > 0.0005) {
				conflict += ` and stayed at the base in ${formatPercent(overall.conflictAtBase)}`;
			}
		}
		sentences.push(`${conflict}.`);
	}
	sentences.push(...shareSentences(overall, report, names));
	return sentences;
}

function shareSentences(overall: GroupStats, report: MergeReport, names: readonly string[]): string[] {
	const sentences: string[] = [];
	const shares = overall.models.filter((model) => model.share !== null);
	if (shares.length > 0 && overall.explained !== null) {
		let share = `${list(shares.map((model) => `${label(names, report, model.model)} accounts for ${formatPercent(model.share)}`))} of the final change`;
		const rest = 1 - overall.explained;
		if (rest > 0.005) {
			share += `; the other ${formatPercent(rest)} is no mix of the task vectors at all: it comes from pruning and sign election`;
		}
		sentences.push(`${share}.`);
	}
	const closest = maxBy(
		overall.models.filter((model) => model.deltaCosine !== null),
		(model) => model.deltaCosine ?? 0,
	);
	if (closest && overall.models.length >= 2) {
		sentences.push(
			`The final change points most like ${label(names, report, closest.model)}'s (cosine ${(closest.deltaCosine ?? 0).toFixed(2)}).`,
		);
	}
	const kept = overall.models.filter((model) => model.keptFraction !== null);
	if (kept.length > 0) {
		sentences.push(
			`Pruning kept ${list(kept.map((model) => `${formatPercent(model.keptFraction)} of ${label(names, report, model.model)}'s changes`))}.`,
		);
	}
	const agreement = overall.models.filter((model) => model.signAgreement !== null);
	if (agreement.length >= 2) {
		sentences.push(
			`Of the changes kept, the sign election accepted ${list(agreement.map((model) => `${formatPercent(model.signAgreement)} of ${label(names, report, model.model)}'s`))}; the rest were dropped for pointing against the majority.`,
		);
	}
	return sentences;
}

function describeCosine(cosine: number): string {
	if (cosine <= -0.1) {
		return "opposed";
	}
	if (cosine < 0.1) {
		return "nearly orthogonal";
	}
	if (cosine < 0.3) {
		return "weakly aligned";
	}
	if (cosine < 0.6) {
		return "moderately aligned";
	}
	return "strongly aligned";
}

function label(names: readonly string[], report: MergeReport, model: string): string {
	return `\`${names[report.models.indexOf(model)] ?? model}\``;
}

function list(items: readonly string[]): string {
	if (items.length <= 2) {
		return items.join(" and ");
	}
	return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

function maxBy<T>(items: readonly T[], key: (item: T) => number): T | undefined {
	let best: T | undefined;
	let bestKey = Number.NEGATIVE_INFINITY;
	for (const item of items) {
		const value = key(item);
		if (value > bestKey) {
			best = item;
			bestKey = value;
		}
	}
	return best;
}
