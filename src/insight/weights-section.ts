import { taskArithmeticTraits } from "../methods/task-arithmetic.js";
import type { MergePlan } from "../plan/merge-plan.js";
import { effectiveWeights } from "./effective-weights.js";
import type { ExplanationSection } from "./explanation.js";
import { formatNumber } from "./format-number.js";
import { layerRows } from "./layer-rows.js";

/**
 * How much each model counts, per layer and module: effective weights after normalisation for methods with
 * per-model weights, the interpolation factor for slerp, equal shares for karcher, and a sentence for methods whose
 * weights come from the data. Undefined for methods where no model counts more than another (passthrough).
 */
export function weightsSection(plan: MergePlan): ExplanationSection | undefined {
	const { method } = plan;
	const name = `\`${method.name}\``;
	const inputs = [...new Set(plan.tensors.flatMap((tensor) => tensor.models.map((input) => input.model)))];
	const ordered = plan.models.map((model) => model.reference.key).filter((key) => inputs.includes(key));
	const hasWeight = method.parameters.some((def) => def.name === "weight" && def.scope === "per-model");
	if (hasWeight) {
		const traits = taskArithmeticTraits(method.name);
		const normalizes = plan.tensors.some(
			(tensor) => tensor.params.normalize === true || tensor.params.normalize_weights === true,
		);
		const sums = plan.tensors.map((tensor) =>
			tensor.models.reduce(
				(sum, input) => sum + (typeof input.params.weight === "number" ? input.params.weight : 0),
				0,
			),
		);
		const low = Math.min(...sums);
		const high = Math.max(...sums);
		const sumText =
			formatNumber(low) === formatNumber(high) ? formatNumber(low) : `${formatNumber(low)} to ${formatNumber(high)}`;
		const paragraphs: string[] = [];
		if (traits?.consensus && normalizes) {
			paragraphs.push(
				`normalize is on, and with sign election the divisor is worked out element by element: the sum of the weights of the models whose change agrees with the elected sign. The table shows each model's weight divided by the sum of all the weights (${sumText}), which is what it gets where every model agrees; where a model is the only one with the elected sign, its change goes in at full size.`,
			);
		} else if (normalizes || method.name === "nuslerp") {
			paragraphs.push(`The weights are divided by their sum (${sumText}), so each model counts by its share:`);
		} else if (traits) {
			paragraphs.push(
				`normalize is off: each task vector is added at its weight as written (the weights sum to ${sumText}), not averaged.`,
			);
		} else {
			paragraphs.push(`normalize is off: the weights are used as written (they sum to ${sumText}).`);
		}
		const lambdas = new Set(plan.tensors.map((tensor) => tensor.params.lambda ?? 1));
		if (lambdas.size > 1 || !lambdas.has(1)) {
			paragraphs.push(`lambda multiplies the merged change; the table includes it.`);
		}
		return {
			title: "Effective weights",
			paragraphs,
			table: {
				header: ["tensors", ...ordered.map((key) => `\`${key}\``)],
				rows: layerRows(plan, ordered, (tensor) => effectiveWeights(plan, tensor)),
			},
		};
	}
	if (method.name === "slerp" || method.name === "nearswap") {
		const other = ordered.find((key) => key !== plan.baseModel?.reference.key);
		return {
			title: method.name === "slerp" ? "Interpolation factor t" : "Parameter t",
			paragraphs: [
				method.name === "slerp"
					? `t is how far each tensor moves from the base (t = 0) towards \`${other ?? "the other model"}\` (t = 1), along the arc between them:`
					: "t, per tensor:",
			],
			table: {
				header: ["tensors", "t"],
				rows: layerRows(plan, ["t"], (tensor) =>
					typeof tensor.params.t === "number" ? new Map([["t", tensor.params.t]]) : undefined,
				),
			},
		};
	}
	if (method.name === "karcher") {
		return {
			title: "Weights",
			paragraphs: [
				`${name} gives every input the same say: ${ordered.map((key) => `\`${key}\``).join(", ")} each count 1/${ordered.length}.`,
			],
		};
	}
	if (method.name === "sce" || method.name === "model_stock" || method.name === "ram" || method.name === "ramplus_tl") {
		return {
			title: "Weights",
			paragraphs: [
				`${name} takes no per-model weights: ${method.name === "sce" ? "each model's weight is its mean squared change from the base, per tensor" : method.name === "model_stock" ? "how far the average moves from the base is set per tensor by the angle between the models' changes" : "each element takes the change of the one model that made it, or the mean of several"}, so it is only known once the weights are read (\`--measure\`).`,
			],
		};
	}
	return undefined;
}
