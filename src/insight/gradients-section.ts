import { interpolateGradient } from "../plan/evaluate-setting.js";
import type { MergePlan } from "../plan/merge-plan.js";
import type { SettingSite } from "./collect-setting-sites.js";
import type { ExplanationSection } from "./explanation.js";
import { formatNumber } from "./format-number.js";
import { tensorLayer } from "./tensor-layer.js";

/**
 * The value each gradient (a parameter written as a list) takes on each output layer: anchors spread evenly over the
 * layers of each slice (in the `models:` form, over all layers) and interpolated linearly between them (spec §1.7).
 * Undefined when the recipe has no gradient.
 */
export function gradientsSection(plan: MergePlan, sites: readonly SettingSite[]): ExplanationSection | undefined {
	const gradients = sites.flatMap((site) => {
		const label = `${site.name} (${site.where})`;
		if (site.setting.kind === "gradient") {
			return [{ label, values: site.setting.values, slice: site.slice }];
		}
		if (site.setting.kind === "filtered") {
			return site.setting.entries.flatMap((entry) =>
				entry.value.kind === "gradient"
					? [
							{
								label: `${site.name} (${site.where}, ${entry.filter === undefined || entry.filter === "*" ? "other tensors" : `filter \`${entry.filter}\``})`,
								values: entry.value.values,
								slice: site.slice,
							},
						]
					: [],
			);
		}
		return [];
	});
	if (gradients.length === 0) {
		return undefined;
	}
	const layers = new Map<number, { slice: number; t: number }>();
	for (const tensor of plan.tensors) {
		const layer = tensorLayer(tensor);
		if (layer !== undefined && tensor.layer && !layers.has(layer)) {
			layers.set(layer, { slice: tensor.layer.slice, t: tensor.layer.t });
		}
	}
	const rows = [...layers.entries()]
		.sort(([a], [b]) => a - b)
		.map(([layer, { slice, t }]) => [
			String(layer),
			...gradients.map((gradient) =>
				gradient.slice === undefined || gradient.slice === slice
					? formatNumber(interpolateGradient(gradient.values, t))
					: "–",
			),
		]);
	const slices = new Set([...layers.values()].map((entry) => entry.slice));
	return {
		title: "Gradients",
		paragraphs: [
			`A list of values is a gradient: its values are spread evenly over the layers${slices.size > 1 ? " of each slice (a top-level gradient starts again in every slice)" : ""} and interpolated in between. Tensors outside the layers (embeddings, final norm, lm_head) all take the first value, as in current mergekit. Per layer:`,
		],
		table: { header: ["layer", ...gradients.map((gradient) => gradient.label)], rows },
	};
}
