import type { MergePlan, PlannedTensor } from "../plan/merge-plan.js";
import type { SettingSite } from "./collect-setting-sites.js";
import type { ExplanationSection, Finding } from "./explanation.js";

/**
 * Which tensors each entry of each filter list takes (the first entry whose filter is a substring of the tensor name
 * wins, spec §1.7), counted over the tensors the list applies to, with findings for entries that take none.
 */
export function filtersSection(
	plan: MergePlan,
	sites: readonly SettingSite[],
): { section: ExplanationSection | undefined; findings: Finding[] } {
	const findings: Finding[] = [];
	const rows: string[][] = [];
	for (const site of sites) {
		const def = plan.method.parameters.find((parameter) => parameter.name === site.name);
		if (site.setting.kind !== "filtered" || def === undefined) {
			continue;
		}
		const entries = site.setting.entries;
		const names = plan.tensors.flatMap((tensor) => {
			if (site.slice !== undefined && tensor.layer?.slice !== site.slice) {
				return [];
			}
			const name = seenName(tensor, def.scope === "per-model" ? site.model : undefined);
			return name === undefined ? [] : [name];
		});
		const matches = (filter: string | undefined, name: string): boolean =>
			filter === undefined || filter === "*" || name.includes(filter);
		const wins = entries.map(() => 0);
		const hits = entries.map((entry) => names.filter((name) => matches(entry.filter, name)).length);
		let unmatched = 0;
		for (const name of names) {
			const index = entries.findIndex((entry) => matches(entry.filter, name));
			if (index < 0) {
				unmatched++;
			} else {
				wins[index] = (wins[index] ?? 0) + 1;
			}
		}
		const label = `\`${site.name}\` (${site.where}, line ${site.setting.span.line})`;
		entries.forEach((entry, i) => {
			const filter = entry.filter === undefined || entry.filter === "*" ? "(any other)" : `\`${entry.filter}\``;
			rows.push([label, filter, String(wins[i] ?? 0)]);
			if (entry.filter === undefined || entry.filter === "*") {
				return;
			}
			if ((hits[i] ?? 0) === 0) {
				findings.push({
					level: "warning",
					text: `The filter \`${entry.filter}\` of ${label} matches no tensor of these models, so its value is never used. Filters are case-sensitive substrings of tensor names (e.g. \`self_attn\`, \`mlp\`, \`input_layernorm\`).`,
				});
			} else if ((wins[i] ?? 0) === 0) {
				findings.push({
					level: "warning",
					text: `The filter \`${entry.filter}\` of ${label} never applies: every tensor it matches is taken by an earlier entry (the first matching entry wins).`,
				});
			}
		});
		if (unmatched > 0) {
			rows.push([label, "(no entry matches)", String(unmatched)]);
			findings.push({
				level: "info",
				text: `${unmatched} tensor(s) match no entry of ${label}; they take \`${site.name}\` from the next level down${def.default === undefined ? "" : ` or the default (${String(def.default)})`}.`,
			});
		}
	}
	if (rows.length === 0) {
		return { section: undefined, findings };
	}
	return {
		section: {
			title: "Filters",
			paragraphs: ["Tensors each filter entry takes (the first entry whose filter is part of the tensor name wins):"],
			table: { header: ["parameter", "filter", "tensors"], rows },
		},
		findings,
	};
}

/** The name a filter is tested against: the model's own tensor name for its per-model parameters, else the output's. */
function seenName(tensor: PlannedTensor, model: string | undefined): string | undefined {
	if (model === undefined) {
		return tensor.name;
	}
	const input =
		tensor.models.find((candidate) => candidate.model === model) ??
		(tensor.base?.model === model ? tensor.base : undefined);
	return input?.stored.name;
}
