import { taskArithmeticTraits } from "../methods/task-arithmetic.js";
import type { MergePlan } from "../plan/merge-plan.js";
import type { SettingSite } from "./collect-setting-sites.js";
import type { Finding } from "./explanation.js";
import { formatNumber } from "./format-number.js";

/**
 * Settings that do nothing, or less than they seem to, for this method on these tensors: pruning that keeps
 * everything, a density the method never reads, a seed for a merge without randomness (or randomness without a seed),
 * normalising weights that already sum to 1, models with weight 0 everywhere, and the like.
 */
export function idleSettingFindings(plan: MergePlan, sites: readonly SettingSite[]): Finding[] {
	const findings: Finding[] = [];
	const { method } = plan;
	const name = `\`${method.name}\``;
	const traits = taskArithmeticTraits(method.name);
	const at = (site: SettingSite): string => `(${site.where}, line ${site.setting.span.line})`;
	const written = (parameter: string): SettingSite[] => sites.filter((site) => site.name === parameter);
	const models = plan.models
		.map((model) => model.reference.key)
		.filter((key) => plan.tensors.some((tensor) => tensor.models.some((input) => input.model === key)));
	const values = (model: string, parameter: string): unknown[] =>
		plan.tensors.flatMap((tensor) =>
			tensor.models.filter((input) => input.model === model).map((input) => input.params[parameter]),
		);

	if (traits && traits.sparsification === undefined) {
		for (const site of [...written("density"), ...written("rescale")]) {
			findings.push({
				level: "warning",
				text: `\`${site.name}\` ${at(site)} does nothing in ${name}, which never prunes the task vectors; \`ties\`, \`dare_ties\`, \`dare_linear\`, \`breadcrumbs\` and \`della\` do.`,
			});
		}
	}
	if (traits?.sparsification !== undefined) {
		const unpruned = models.filter((model) => values(model, "density").every((density) => density === 1));
		const random = traits.sparsification === "random" || traits.sparsification === "della_magprune";
		if (unpruned.length > 0 && unpruned.length === models.length) {
			findings.push({
				level: "warning",
				text: `density is 1 for every model${written("density").length === 0 ? " (the default, as no density is set)" : ""}, so ${name} prunes nothing${random ? " and draws no random numbers" : ""}${traits.consensus ? ": what remains is the sign election over whole task vectors" : ""}. Set a density below 1 (0.5 is common) to prune.`,
			});
		} else {
			for (const model of unpruned) {
				findings.push({
					level: "info",
					text: `density is 1 for \`${model}\` on every tensor: none of its changes are pruned.`,
				});
			}
		}
	}
	if (plan.randomized && plan.seedOrigin === "chosen") {
		findings.push({
			level: "warning",
			text: `${name} draws random numbers and no seed is set, so a seed (${plan.seed}) is chosen at random: the card records it, but to reproduce the merge set \`random_seed: ${plan.seed}\` in the recipe or pass \`--random-seed\`.`,
		});
	} else if (!plan.randomized && plan.seedOrigin !== "chosen") {
		findings.push({
			level: "info",
			text: `The seed (${plan.seedOrigin}) does nothing: this merge draws no random numbers.`,
		});
	}
	const hasWeight = method.parameters.some((def) => def.name === "weight" && def.scope === "per-model");
	if (hasWeight) {
		for (const model of models) {
			if (values(model, "weight").every((weight) => weight === 0)) {
				findings.push({
					level: "warning",
					text: `\`${model}\` has weight 0 on every tensor: it contributes nothing, but its weights are still read.`,
				});
			}
		}
		const sums = plan.tensors.map((tensor) =>
			tensor.models.reduce(
				(sum, input) => sum + (typeof input.params.weight === "number" ? input.params.weight : 0),
				0,
			),
		);
		const normalized = plan.tensors.every((tensor) => tensor.params.normalize === true);
		const unnormalized = plan.tensors.every((tensor) => tensor.params.normalize === false);
		const sumToOne = sums.every((sum) => Math.abs(sum - 1) < 1e-9);
		if (normalized && sumToOne && !traits?.consensus) {
			for (const site of written("normalize")) {
				findings.push({
					level: "info",
					text: `normalize ${at(site)} changes nothing: the weights already sum to 1 on every tensor.`,
				});
			}
		}
		const distinct = [...new Set(sums.map(formatNumber))];
		if (unnormalized && !sumToOne && method.name === "linear") {
			findings.push({
				level: "warning",
				text: `normalize is off and the weights sum to ${distinct.join(", ")}: linear then scales the whole model by that sum instead of averaging. Set \`normalize: true\` or make the weights sum to 1.`,
			});
		}
	}
	if (traits?.consensus && models.length === 1) {
		findings.push({
			level: "info",
			text: `With one model besides the base, ${name}'s sign election has nothing to decide; only the pruning acts.`,
		});
	}
	for (const site of written("int8_mask")) {
		findings.push({
			level: "info",
			text: `int8_mask ${at(site)} only saves memory in mergekit; it changes no weight, and mergesmith does not need it.`,
		});
	}
	if (method.name === "slerp") {
		const ts = plan.tensors.map((tensor) => tensor.params.t);
		if (ts.every((t) => t === 0) || ts.every((t) => t === 1)) {
			const other = models.find((model) => model !== plan.baseModel?.reference.key);
			findings.push({
				level: "warning",
				text: `t is ${String(ts[0])} on every tensor, so the result is ${ts[0] === 0 ? "the base model" : `\`${other ?? "the other model"}\``} unchanged.`,
			});
		}
	}
	const hasOutside = plan.tensors.some((tensor) => tensor.layer === undefined);
	const uneven = sites.some((site) => {
		const gradients =
			site.setting.kind === "gradient"
				? [site.setting.values]
				: site.setting.kind === "filtered"
					? site.setting.entries.flatMap((entry) => (entry.value.kind === "gradient" ? [entry.value.values] : []))
					: [];
		return gradients.some((list) => list[0] !== list[list.length - 1]);
	});
	if (hasOutside && uneven) {
		findings.push({
			level: "info",
			text: "Tensors outside the layers (embeddings, final norm, lm_head) take each gradient's first value, as in current mergekit (mergekit before March 2025 gave the output end the last value).",
		});
	}
	return findings;
}
