import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { stringify } from "yaml";
import { CPU_LABEL } from "../execute/tensor-backend.js";
import type { MergeReport } from "../insight/merge-report.js";
import { renderReportMarkdown } from "../insight/render-report-markdown.js";
import type { ParameterDef } from "../methods/merge-method.js";
import type { LoadedModel } from "../models/load-model.js";
import type { MergePlan } from "../plan/merge-plan.js";
import type { ParameterSetting, Parameters } from "../recipe/recipe.js";
import { torchDtypeName } from "../safetensors/dtype.js";
import { deriveLicense } from "./derive-license.js";

const TEMPLATE = new URL("../../templates/model-card.md", import.meta.url);

/** Hub repo ids among the inputs: what the card's `base_model` lists so the Hub's model tree shows the parents. */
export function hubParents(models: readonly LoadedModel[]): string[] {
	// LoRA adapters from the Hub are parents too, as mergekit lists them.
	const adapters = models.flatMap((model) =>
		model.adapter && model.adapter.origin !== "local" ? [model.adapter.path.path] : [],
	);
	return [
		...new Set([
			...models.filter((model) => model.origin !== "local").map((model) => model.reference.model.path),
			...adapters,
		]),
	].sort();
}

/** The merge report and the chart files written beside the card, for its "What the merge did" section. */
export interface CardReport {
	report: MergeReport;
	charts: readonly string[];
}

/** The merged model's README.md, from `templates/model-card.md`. */
export function renderModelCard(
	plan: MergePlan,
	outDir: string,
	repoId?: string,
	insight?: CardReport,
	device = CPU_LABEL,
): string {
	const { method, recipe } = plan;
	const license = deriveLicense(plan.models);
	const parents = hubParents(plan.models);
	const front: Record<string, unknown> = {};
	if (parents.length > 0) {
		front.base_model = parents;
		front.base_model_relation = "merge";
	}
	front.library_name = "transformers";
	front.license = license.license;
	front.tags = ["merge", "mergekit", "mergesmith"];
	const baseKey = plan.baseModel?.reference.key;
	const values: Record<string, string> = {
		front_matter: stringify(front).trimEnd(),
		// A published merge is named after its repo; a local one after its folder.
		name: repoId?.split("/")[1] ?? (basename(outDir.replace(/[\\/]+$/, "")) || "Untitled merge"),
		method_link: method.paperUrl ? `[${method.displayName}](${method.paperUrl})` : method.displayName,
		base_clause: baseKey ? `, with ${modelLink(plan.baseModel as LoadedModel)} as the base` : "",
		method_explanation: method.explanation,
		models_table: modelsTable(plan) + stagesTable(plan),
		parameters_table: parametersTable(plan),
		merge_report: insight ? `\n## What the merge did\n\n${renderReportMarkdown(insight.report, insight.charts)}\n` : "",
		seed: plan.randomized
			? `${plan.seed} (${plan.seedOrigin}); this method draws random numbers, and the same seed gives the same weights`
			: `${plan.seed} (${plan.seedOrigin}); this merge draws no random numbers`,
		dtype: [...new Set(plan.tensors.map((tensor) => torchDtypeName(tensor.dtype)))].join(", "),
		precision: precisionNote(plan),
		device,
		architecture: plan.architecture.inferred
			? "inferred from tensor names (no family table matched)"
			: `${plan.architecture.family} family table`,
		license_note: license.note ?? `Licence: \`${license.license}\`, as declared by every parent model.`,
		recipe: recipe.source.trimEnd(),
		usage_id: repoId ?? outDir.replace(/[\\/]+$/, ""),
	};
	return readFileSync(TEMPLATE, "utf8").replace(/\{\{(\w+)\}\}/g, (match, key: string) => values[key] ?? match);
}

function modelLink(model: LoadedModel): string {
	const link = (path: string, local: boolean): string =>
		local ? `\`${path}\`` : `[${path}](https://huggingface.co/${path})`;
	const own = link(model.reference.model.path, model.origin === "local");
	return model.adapter ? `${own} + ${link(model.adapter.path.path, model.adapter.origin === "local")}` : own;
}

function revisionCell(model: LoadedModel): string {
	const own = model.stage
		? `output of stage \`${model.stage}\` above`
		: model.commit
			? `\`${model.commit}\``
			: "local folder";
	if (!model.adapter) {
		return own;
	}
	const adapter = model.adapter.commit ? `\`${model.adapter.commit}\`` : "local folder";
	return `${own}; LoRA adapter: ${adapter}`;
}

function modelsTable(plan: MergePlan): string {
	const rows = plan.models.map((model) => {
		const role = model.reference.key === plan.baseModel?.reference.key ? "base" : "merged";
		return `| ${modelLink(model)} | ${role} | ${revisionCell(model)} | ${model.license ?? "not declared"} |`;
	});
	return ["| Model | Role | Revision | Licence |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

/** Multi-stage recipes: what each earlier stage merged, since its output was an intermediate nobody can download. */
function stagesTable(plan: MergePlan): string {
	const stages = plan.stages ?? [];
	if (stages.length === 0) {
		return "";
	}
	const rows = stages.map((stage) => {
		const models = stage.models
			.map((model) => {
				const role = model.reference.key === stage.baseKey ? " (base)" : "";
				return `${modelLink(model)}${role}: ${revisionCell(model)}`;
			})
			.join("<br>");
		return `| \`${stage.name}\` | ${stage.method} | ${models} |`;
	});
	return [
		"",
		"",
		`The recipe below has ${stages.length + 1} stages: ${stages.length === 1 ? "an earlier merge" : "earlier merges"} made the intermediate model${stages.length === 1 ? "" : "s"} named above, which ${stages.length === 1 ? "was" : "were"} not kept:`,
		"",
		"| Stage | Method | Models |",
		"| --- | --- | --- |",
		...rows,
	].join("\n");
}

function describeSetting(setting: ParameterSetting): string {
	switch (setting.kind) {
		case "scalar":
			return String(setting.value);
		case "gradient":
			return `[${setting.values.join(", ")}] across the layers`;
		case "filtered":
			return setting.entries
				.map(
					(entry) =>
						`${entry.filter === undefined || entry.filter === "*" ? "otherwise" : `\`${entry.filter}\``}: ${describeSetting(entry.value)}`,
				)
				.join("; ");
	}
}

function parametersTable(plan: MergePlan): string {
	const { method, recipe } = plan;
	if (method.parameters.length === 0) {
		return `${method.displayName} takes no parameters.`;
	}
	const scopes: { label: string; parameters: Parameters }[] = [{ label: "all models", parameters: recipe.parameters }];
	for (const input of recipe.models ?? []) {
		scopes.push({ label: input.model.key, parameters: input.parameters });
	}
	(recipe.slices ?? []).forEach((slice, index) => {
		scopes.push({ label: `slice ${index + 1}`, parameters: slice.parameters });
		for (const source of slice.sources) {
			const range = source.layerRange ? ` layers [${source.layerRange[0]}, ${source.layerRange[1]})` : "";
			scopes.push({ label: `slice ${index + 1}: ${source.model.key}${range}`, parameters: source.parameters });
		}
	});
	const rows: string[] = [];
	for (const def of method.parameters) {
		const set = scopes.filter((scope) => scope.parameters[def.name] !== undefined);
		const fallback = def.default === undefined ? "(not set)" : `${def.default} (default)`;
		const value =
			set.length === 0
				? fallback
				: set
						.map((scope) => `${scope.label}: ${describeSetting(scope.parameters[def.name] as ParameterSetting)}`)
						.join("<br>");
		rows.push(`| \`${def.name}\` | ${scopeLabel(def)} | ${value} | ${def.description} |`);
	}
	return ["| Parameter | Applies to | Value | Meaning |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

function scopeLabel(def: ParameterDef): string {
	return def.scope === "global" ? "whole merge" : "each model";
}

function precisionNote(plan: MergePlan): string {
	const narrow = [
		...new Set(
			plan.tensors.map((tensor) => tensor.computeDtype).filter((dtype) => dtype === "BF16" || dtype === "F16"),
		),
	];
	if (narrow.length === 0) {
		return "Arithmetic ran in float32 (float64 accumulators), rounded once to the output dtype.";
	}
	return `Inputs were cast to ${narrow.map(torchDtypeName).join(", ")} as mergekit casts them; weights and task vectors of linear and task-arithmetic methods were rounded to it as mergekit rounds them (the sign election of TIES depends on that rounding), and everything else ran in float32.`;
}
