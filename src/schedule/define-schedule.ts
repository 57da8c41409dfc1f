import { isHubRepoId } from "../models/is-hub-repo-id.js";
import { referencedModels } from "../plan/referenced-models.js";
import { parseRecipe } from "../recipe/parse-recipe.js";
import { validateRecipe } from "../recipe/validate-recipe.js";
import { nextCronRun } from "./next-cron-run.js";
import type { HfJobsSpec, ScheduleDefinition, ScheduleRunner, ScheduleSource } from "./schedule.js";

export interface ScheduleInput {
	name?: string;
	source: ScheduleSource;
	recipe: { text: string; lineOffset: number };
	target: string;
	private?: boolean;
	publish?: "commit" | "pull-request";
	cron?: string;
	timezone?: string;
	follow?: boolean;
	runner?: ScheduleRunner;
	hfJobs?: HfJobsSpec;
	thread?: { repo: string; discussion: number };
	requester: { id: string; name: string };
}

/** `owner/name`; a leading dot would be a relative folder (`./models`), never a Hub id. */

/**
 * Checks a schedule as the CLI, a thread or the config file gives it, before anything is stored: a valid recipe
 * whose every model is a Hub repo id (a schedule re-reads them from the Hub), a target repo id that is not one of its
 * own parents (it would follow itself for ever), a trigger, and a cron expression and timezone that croner accepts.
 * The errors are whole sentences, recipe errors with their line numbers.
 */
export function defineSchedule(
	input: ScheduleInput,
	defaults: { timezone: string },
): { ok: true; definition: ScheduleDefinition } | { ok: false; errors: string[] } {
	const errors: string[] = [];
	const parsed = parseRecipe(input.recipe.text, { lineOffset: input.recipe.lineOffset });
	const diagnostics = parsed.recipe ? [...parsed.diagnostics, ...validateRecipe(parsed.recipe)] : parsed.diagnostics;
	for (const diagnostic of diagnostics.filter((d) => d.severity === "error")) {
		errors.push(`${diagnostic.span ? `line ${diagnostic.span.line}: ` : ""}${diagnostic.message}`);
	}
	const parents: string[] = [];
	if (parsed.recipe && errors.length === 0) {
		for (const reference of referencedModels(parsed.recipe)) {
			for (const path of [reference.model.path, reference.lora?.path]) {
				if (path === undefined) {
					continue;
				}
				if (!isHubRepoId(path)) {
					errors.push(
						`line ${reference.span.line}: \`${path}\` is not a Hub repo id (owner/name); a schedule reads its models from the Hub.`,
					);
				} else if (!parents.includes(path)) {
					parents.push(path);
				}
			}
		}
	}
	if (!isHubRepoId(input.target)) {
		errors.push(`the target \`${input.target}\` is not a Hub repo id (owner/name).`);
	} else if (parents.includes(input.target)) {
		errors.push(`the target ${input.target} is also an input of the recipe; a merge cannot follow itself.`);
	}
	const follow = input.follow ?? false;
	if (input.cron === undefined && !follow) {
		errors.push("a schedule needs a cron expression, `follow`, or both.");
	}
	const timezone = input.timezone ?? defaults.timezone;
	if (input.cron !== undefined) {
		try {
			if (nextCronRun(input.cron, timezone, Date.now()) === undefined) {
				errors.push(`\`${input.cron}\` never fires again.`);
			}
		} catch (error) {
			errors.push(`${(error as Error).message}.`);
		}
	}
	if (errors.length > 0) {
		return { ok: false, errors };
	}
	return {
		ok: true,
		definition: {
			name: input.name,
			source: input.source,
			recipe: input.recipe.text,
			recipeLineOffset: input.recipe.lineOffset,
			target: input.target,
			private: input.private ?? false,
			publish: input.publish ?? "commit",
			cron: input.cron,
			timezone: input.cron === undefined ? undefined : timezone,
			follow,
			runner: input.runner ?? "local",
			hfJobs: input.hfJobs,
			parents,
			thread: input.thread,
			requester: input.requester,
		},
	};
}
