import { readFileSync } from "node:fs";
import type { ScheduleConfig } from "../bot/bot-config.js";
import { findRecipeInText } from "../recipe/find-recipe-in-text.js";
import { defineSchedule } from "./define-schedule.js";
import type { ScheduleDefinition } from "./schedule.js";
import type { ScheduleStore } from "./schedule-store.js";
import { scheduleTimers } from "./schedule-timers.js";
import type { Scheduler } from "./scheduler.js";

/** Who config-file and CLI schedules belong to: the operator, not a Hub user. */
const OPERATOR = { id: "operator", name: "operator" };

/**
 * Makes the stored config-file schedules match the config: new names are added, edited ones replaced (and checked
 * at once when their recipe or target changed), and those no longer in the file removed. A schedule in the file that
 * is invalid stops the start-up with its name and reasons: an operator's mistake should not pass silently.
 */
export function syncConfigSchedules(
	configs: readonly ScheduleConfig[],
	store: ScheduleStore,
	scheduler: Scheduler,
	options: { timezone: string; pollMs: number; now: number },
): { added: string[]; updated: string[]; removed: string[] } {
	const result = { added: [] as string[], updated: [] as string[], removed: [] as string[] };
	const existing = new Map(
		store
			.list()
			.filter((schedule) => schedule.source === "config" && schedule.name !== undefined)
			.map((schedule) => [schedule.name as string, schedule]),
	);
	for (const config of configs) {
		let text: string;
		try {
			text = readFileSync(config.recipe, "utf8");
		} catch (error) {
			throw new Error(`schedule ${config.name}: cannot read ${config.recipe} (${(error as Error).message})`);
		}
		const found = /^(```|~~~)/m.test(text) ? findRecipeInText(text) : undefined;
		if (found !== undefined && !found.ok) {
			throw new Error(`schedule ${config.name}: ${config.recipe}: ${found.error.message}`);
		}
		const defined = defineSchedule(
			{
				name: config.name,
				source: "config",
				recipe: found?.ok ? { text: found.text, lineOffset: found.lineOffset } : { text, lineOffset: 0 },
				target: config.push,
				private: config.private,
				publish: config.pullRequest ? "pull-request" : "commit",
				...(config.cron === undefined ? {} : { cron: config.cron }),
				...(config.timezone === undefined ? {} : { timezone: config.timezone }),
				follow: config.follow,
				runner: config.runner,
				...(config.hfJobs === undefined ? {} : { hfJobs: stripUndefined(config.hfJobs) }),
				requester: OPERATOR,
			},
			options,
		);
		if (!defined.ok) {
			throw new Error(`schedule ${config.name} (${config.recipe}): ${defined.errors.join(" ")}`);
		}
		const definition = defined.definition;
		const current = existing.get(config.name);
		existing.delete(config.name);
		if (!current) {
			scheduler.add(definition);
			result.added.push(config.name);
		} else if (!sameDefinition(current, definition)) {
			store.replace(current.id, definition, scheduleTimers(definition, options.now, { ...options, checkNow: false }));
			if (current.recipe !== definition.recipe || current.target !== definition.target) {
				store.trigger(current.id, "config changed");
			}
			result.updated.push(config.name);
		}
	}
	for (const [name, schedule] of existing) {
		store.remove(schedule.id);
		result.removed.push(name);
	}
	return result;
}

function sameDefinition(current: ScheduleDefinition, next: ScheduleDefinition): boolean {
	const keys: (keyof ScheduleDefinition)[] = [
		"recipe",
		"target",
		"private",
		"publish",
		"cron",
		"timezone",
		"follow",
		"runner",
		"hfJobs",
		"parents",
	];
	return keys.every((key) => JSON.stringify(current[key]) === JSON.stringify(next[key]));
}

function stripUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
	return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as {
		[K in keyof T]: Exclude<T[K], undefined>;
	};
}
