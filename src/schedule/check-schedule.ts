import { createHash } from "node:crypto";
import { MERGE_MATH_VERSION } from "../merge-math-version.js";
import type { ModelSourceOptions } from "../models/load-model.js";
import { ModelError } from "../models/model-error.js";
import { preflightModels } from "../models/preflight-models.js";
import { PlanError } from "../plan/plan-error.js";
import { referencedModels } from "../plan/referenced-models.js";
import { parseRecipe } from "../recipe/parse-recipe.js";
import { validateRecipe } from "../recipe/validate-recipe.js";
import { SafetensorsError } from "../safetensors/safetensors-error.js";
import { diffInputs } from "./diff-inputs.js";
import type { ParentChange, PublishedInputs, ScheduleDefinition } from "./schedule.js";

export type ScheduleCheck =
	| { outcome: "up-to-date"; inputs: Record<string, string> }
	| { outcome: "changed"; inputs: Record<string, string>; changes: ParentChange[]; reasons: string[] }
	| { outcome: "failed"; error: string };

/**
 * Resolves every reference of a schedule's recipe again, from Hub metadata only (no weights), and compares the
 * commits, the recipe and mergesmith's merge math with the last publication's. Unchanged means "up to date":
 * nothing is merged. A recipe or model error is a failed check (reported, retried at the next trigger).
 */
export async function checkSchedule(
	schedule: Pick<ScheduleDefinition, "recipe" | "recipeLineOffset">,
	previous: PublishedInputs | undefined,
	models: ModelSourceOptions,
): Promise<ScheduleCheck> {
	const parsed = parseRecipe(schedule.recipe, { lineOffset: schedule.recipeLineOffset });
	const errors = (
		parsed.recipe ? [...parsed.diagnostics, ...validateRecipe(parsed.recipe)] : parsed.diagnostics
	).filter((d) => d.severity === "error");
	if (!parsed.recipe || errors.length > 0) {
		return { outcome: "failed", error: errors.map((d) => d.message).join("; ") || "the recipe cannot be read" };
	}
	const inputs: Record<string, string> = {};
	try {
		for (const [key, model] of await preflightModels(referencedModels(parsed.recipe), models)) {
			if (model.commit !== undefined) {
				inputs[key] = model.commit;
			}
		}
	} catch (error) {
		if (error instanceof ModelError || error instanceof PlanError || error instanceof SafetensorsError) {
			return { outcome: "failed", error: error.message };
		}
		throw error;
	}
	if (previous === undefined) {
		return { outcome: "changed", inputs, changes: diffInputs({}, inputs), reasons: ["not published yet"] };
	}
	const reasons: string[] = [];
	if (previous.recipeSha256 !== createHash("sha256").update(schedule.recipe).digest("hex")) {
		reasons.push("the recipe changed");
	}
	if (previous.mathVersion !== MERGE_MATH_VERSION) {
		reasons.push("mergesmith's merge arithmetic changed");
	}
	const changes = diffInputs(previous.inputs, inputs);
	if (changes.length > 0) {
		reasons.push(`${changes.length} input(s) moved`);
	}
	return reasons.length === 0 ? { outcome: "up-to-date", inputs } : { outcome: "changed", inputs, changes, reasons };
}
