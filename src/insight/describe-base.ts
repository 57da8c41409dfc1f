import { taskArithmeticTraits } from "../methods/task-arithmetic.js";
import type { MergePlan } from "../plan/merge-plan.js";
import { effectiveWeights } from "./effective-weights.js";
import type { ExplanationSection, Finding } from "./explanation.js";
import { formatNumber } from "./format-number.js";

/** Methods that, like the task-arithmetic family, drop the base from the inputs and merge only task vectors. */
const TASK_VECTOR_METHODS = ["sce", "ram", "ramplus_tl", "nearswap"];

/**
 * Which model is the base and what that means for this method (spec §2.0.1), including what listing the base under
 * `models:` does: nothing in the task-arithmetic family, a pull towards the base in linear and karcher.
 */
export function describeBase(plan: MergePlan): { section: ExplanationSection; findings: Finding[] } {
	const { method, recipe } = plan;
	const base = plan.baseModel?.reference.key;
	const listed =
		base !== undefined &&
		[...(recipe.models ?? []), ...(recipe.slices ?? []).flatMap((slice) => slice.sources)].some(
			(input) => input.model.key === base,
		);
	const paragraphs: string[] = [];
	const findings: Finding[] = [];
	const name = `\`${method.name}\``;
	if (base === undefined) {
		switch (method.baseRole) {
			case "optional-reference":
				paragraphs.push(
					`There is no base model: ${name} interpolates the models' weights directly. With a base_model it would interpolate their changes from the base instead and add the result back onto it.`,
				);
				break;
			case "input":
				paragraphs.push(`There is no base model: ${name} combines the listed models only.`);
				break;
			default:
				paragraphs.push(`There is no base model; ${name} does not use one.`);
		}
		return { section: { title: "Base model", paragraphs }, findings };
	}
	const who = `\`${base}\``;
	const traits = taskArithmeticTraits(method.name);
	if (method.baseRole === "ignored") {
		paragraphs.push(`${who} is named as base_model, but ${name} ignores it: every tensor comes from its one source.`);
	} else if (traits || TASK_VECTOR_METHODS.includes(method.name)) {
		const steps = traits
			? [
					traits.sparsification === undefined ? undefined : "pruned",
					traits.consensus ? "put to a sign vote" : undefined,
					"weighted",
				].filter((step) => step !== undefined)
			: ["combined"];
		paragraphs.push(
			`${who} is the base: every other model's task vector (its weights minus the base's) is measured from it, ${steps.join(", ")}, and added back onto it. The base itself is not an input.`,
		);
		const effect = `its task vector is zero, so ${method.name} skips it${traits ? ": it is never pruned, never votes in a sign election and adds nothing to the weight divisor, and any weight or density it is given is ignored" : ""}. Listing it or not gives identical weights`;
		if (listed) {
			paragraphs.push(`${who} is also listed under the models. That changes nothing here: ${effect}.`);
			findings.push({
				level: "info",
				text: `Listing the base ${who} among the models changes nothing in ${name}: ${effect}.`,
			});
		} else {
			paragraphs.push(`Listing ${who} among the models as well would change nothing: ${effect}.`);
		}
	} else if (method.baseRole === "input") {
		const shares = plan.tensors.flatMap((tensor) => {
			const weights = effectiveWeights(plan, tensor);
			const share = weights?.get(base);
			return share === undefined ? [] : [share];
		});
		if (method.name === "karcher") {
			const count = plan.models.length;
			paragraphs.push(
				`${who} is the base, and for ${name} that makes it an ordinary input with the same say as every other model (1/${count} of the mean): it pulls the result towards the base. Without base_model it would not take part.`,
			);
			findings.push({
				level: "info",
				text: `In ${name} the base ${who} is one more input of the mean, with a 1/${count} say: it pulls the result towards the base.`,
			});
		} else {
			const low = shares.length > 0 ? Math.min(...shares) : undefined;
			const high = shares.length > 0 ? Math.max(...shares) : undefined;
			const range =
				low === undefined || high === undefined
					? "its weight"
					: formatNumber(low) === formatNumber(high)
						? `an effective weight of ${formatNumber(low)}`
						: `an effective weight of ${formatNumber(low)} to ${formatNumber(high)}`;
			paragraphs.push(
				`${who} is the base, and for ${name} that makes it an ordinary input: it is averaged in with ${range}, which pulls the result towards the base by that share. Leaving it out (and dropping base_model) would average the other models alone.`,
			);
			findings.push({
				level: "info",
				text: `In ${name} the base ${who} is an ordinary input with ${range}: it pulls the result towards the base (unlike the task-arithmetic methods, where listing the base changes nothing).`,
			});
		}
	} else if (method.name === "slerp") {
		paragraphs.push(`${who} is the base: the t = 0 end of the interpolation; the other model is the t = 1 end.`);
	} else if (method.name === "model_stock") {
		paragraphs.push(
			`${who} is the base: the other models' average is pulled back towards it, more so the less their changes from it agree.`,
		);
	} else if (method.baseRole === "optional-reference") {
		paragraphs.push(
			`${who} is the base: ${name} interpolates the other models' changes from it (their task vectors) and adds the result back onto it; the base is not one of the interpolated models.`,
		);
	} else {
		paragraphs.push(
			`${who} is the base: the reference the other model is measured from; it is not merged as an input.`,
		);
	}
	return { section: { title: "Base model", paragraphs }, findings };
}
