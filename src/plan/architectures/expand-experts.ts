import type { Architecture, WeightTemplate } from "./architecture.js";

const EXPERT_INDEX = "${expert_index}";

/**
 * A mixture-of-experts layout with its `${expert_index}` templates repeated once per expert (expert 0 first), so
 * that each expert's tensors are merged with the same expert of the other models.
 */
export function expandExperts(architecture: Architecture, experts: number): Architecture {
	const expand = (templates: readonly WeightTemplate[]): WeightTemplate[] =>
		templates.flatMap((template) =>
			template.name.includes(EXPERT_INDEX)
				? Array.from({ length: experts }, (_, expert) => ({
						...template,
						name: template.name.replaceAll(EXPERT_INDEX, String(expert)),
					}))
				: [template],
		);
	return {
		...architecture,
		preWeights: expand(architecture.preWeights),
		layerWeights: expand(architecture.layerWeights),
		postWeights: expand(architecture.postWeights),
	};
}
