import type { MergePlan } from "../plan/merge-plan.js";
import { validateRecipe } from "../recipe/validate-recipe.js";
import { collectSettingSites } from "./collect-setting-sites.js";
import { describeBase } from "./describe-base.js";
import type { Explanation, ExplanationSection, Finding } from "./explanation.js";
import { filtersSection } from "./filters-section.js";
import { gradientsSection } from "./gradients-section.js";
import { idleSettingFindings } from "./idle-setting-findings.js";
import { tensorLayer } from "./tensor-layer.js";
import { weightsSection } from "./weights-section.js";

/**
 * What a planned merge will do, in plain language: the method, the base model's role, how much each model counts
 * per layer, every gradient's values, what each filter takes, and findings (the validator's warnings, the planner's,
 * and settings that do nothing). Reads the plan only, never weights.
 */
export function explainPlan(plan: MergePlan): Explanation {
	const { method } = plan;
	const sites = collectSettingSites(plan.recipe);
	const layers = new Set(plan.tensors.flatMap((tensor) => tensorLayer(tensor) ?? []));
	const inputs = new Set(
		plan.tensors.flatMap((tensor) => [tensor.base, ...tensor.models].map((input) => input?.model)),
	);
	inputs.delete(undefined);
	const sections: ExplanationSection[] = [
		{
			title: "Method",
			paragraphs: [
				`${method.displayName} (\`${method.name}\`${method.paperUrl ? `, ${method.paperUrl}` : ""}). ${method.explanation}`,
				`It writes ${plan.tensors.length} tensors in ${layers.size} layers from ${inputs.size} model${inputs.size === 1 ? "" : "s"}.`,
			],
		},
	];
	const base = describeBase(plan);
	sections.push(base.section);
	const weights = weightsSection(plan);
	if (weights) {
		sections.push(weights);
	}
	const gradients = gradientsSection(plan, sites);
	if (gradients) {
		sections.push(gradients);
	}
	const filters = filtersSection(plan, sites);
	if (filters.section) {
		sections.push(filters.section);
	}
	const diagnostics = [...validateRecipe(plan.recipe), ...plan.warnings]
		.filter((diagnostic) => diagnostic.severity === "warning")
		.map((diagnostic): Finding => ({ level: "warning", text: diagnostic.message }));
	const all = [...diagnostics, ...filters.findings, ...idleSettingFindings(plan, sites), ...base.findings];
	const seen = new Set<string>();
	const findings = all
		.filter((finding) => !seen.has(finding.text) && seen.add(finding.text))
		.sort((a, b) => (a.level === b.level ? 0 : a.level === "warning" ? -1 : 1));
	return { method: method.name, base: plan.baseModel?.reference.key, sections, findings };
}
