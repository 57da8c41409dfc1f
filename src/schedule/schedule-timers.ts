import { nextCronRun } from "./next-cron-run.js";
import type { ScheduleDefinition } from "./schedule.js";

/** A new schedule's timers: its first cron time, and when its parents are first compared. */
export function scheduleTimers(
	definition: Pick<ScheduleDefinition, "cron" | "timezone" | "follow">,
	now: number,
	options: { timezone: string; pollMs: number; checkNow: boolean },
): { nextCronAt: number | undefined; nextPollAt: number | undefined } {
	return {
		nextCronAt:
			definition.cron === undefined
				? undefined
				: nextCronRun(definition.cron, definition.timezone ?? options.timezone, now),
		nextPollAt: definition.follow ? (options.checkNow ? now : now + options.pollMs) : undefined,
	};
}
