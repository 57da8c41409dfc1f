import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { Job, JobStore } from "../bot/job-store.js";
import { readJobRecord } from "../bot/read-job-record.js";
import { renderJob } from "../bot/render-reply.js";
import type { ModelSourceOptions } from "../models/load-model.js";
import { checkSchedule } from "./check-schedule.js";
import { describeParentChange } from "./describe-parent-change.js";
import { nextCronRun } from "./next-cron-run.js";
import type { PublishedInputs, Schedule, ScheduleDefinition, ScheduledRun, ScheduleRun } from "./schedule.js";
import type { ScheduleStore } from "./schedule-store.js";
import { scheduleTimers } from "./schedule-timers.js";

export interface SchedulerOptions {
	schedules: ScheduleStore;
	jobs: JobStore;
	/** How checks read models: the Hub with the bot's token, and the bot's cache folder. */
	models: ModelSourceOptions;
	log: Logger;
	/** Tells the job runner a job was queued. */
	notify(): void;
	/** Quiet time after a parent's change before re-merging, so that a burst of commits makes one re-merge. */
	debounceMs: number;
	/** How often followed parents are compared by polling, for those whose webhooks the bot does not receive. */
	pollMs: number;
	/** Timezone of cron expressions that name none. */
	timezone: string;
	/** How often the scheduler looks for due work (real time; default 1 s). */
	tickMs?: number;
	/** How long one check may hold a schedule before another process may take it over (default 5 min). */
	leaseMs?: number;
	now?: () => number;
	/** Schedules defined in a discussion announce each re-merge there; the job runner edits that comment. */
	postComment?: (repo: string, discussion: number, markdown: string) => Promise<{ commentId: string }>;
}

const isActive = (job: Job): boolean => job.state === "queued" || job.state === "running";

/**
 * Turns triggers into merges. Cron times, polls, parent changes (webhooks) and `run-now` only mark a schedule
 * pending; each tick takes the due ones, resolves their inputs again from metadata and compares them with the last
 * publication: unchanged is recorded as "up to date", changed becomes an ordinary job in the bot's queue. A schedule
 * with a queued or running job is left pending until that job ends, and checks hold a lease, so two runs of one
 * schedule never overlap. A cron time that passed while the bot was down is run once, at the first tick.
 */
export class Scheduler {
	readonly #options: SchedulerOptions;
	readonly #now: () => number;
	readonly #owner = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
	#ticking: Promise<void> = Promise.resolve();
	#loop: Promise<void> | undefined;
	#stopping = false;
	#wake: (() => void) | undefined;

	constructor(options: SchedulerOptions) {
		this.#options = options;
		this.#now = options.now ?? Date.now;
	}

	/**
	 * Starts ticking. Followed schedules are compared once at start-up, since parent changes may have happened while
	 * no webhook could reach the bot.
	 */
	start(): void {
		if (this.#loop) {
			return;
		}
		for (const schedule of this.#options.schedules.list()) {
			if (schedule.follow) {
				this.#options.schedules.trigger(schedule.id, "start-up");
			}
		}
		this.#loop = (async () => {
			while (!this.#stopping) {
				await this.tick();
				await new Promise<void>((resolve) => {
					this.#wake = resolve;
					setTimeout(resolve, this.#options.tickMs ?? 1000).unref();
				});
				this.#wake = undefined;
			}
		})();
	}

	async stop(): Promise<void> {
		this.#stopping = true;
		this.#wake?.();
		await this.#loop;
		await this.#ticking;
	}

	/** Stores a new schedule with its first cron time; a followed one is first checked at once unless `checked`. */
	add(definition: ScheduleDefinition, options: { id?: string; checked?: boolean } = {}): Schedule {
		return this.#options.schedules.add(
			definition,
			scheduleTimers(definition, this.#now(), {
				timezone: this.#options.timezone,
				pollMs: this.#options.pollMs,
				checkNow: options.checked !== true,
			}),
			options.id,
		);
	}

	/**
	 * A parent repo changed (a `repo.content` webhook): every schedule that follows it becomes pending after the
	 * debounce window. New PR refs and deleted refs move no parent. Returns the ids of the schedules marked.
	 */
	parentChanged(repo: string, updatedRefs: readonly { ref: string; newSha: string | null }[] | undefined): string[] {
		const moved =
			updatedRefs === undefined ||
			updatedRefs.some(
				(ref) => ref.newSha !== null && (ref.ref.startsWith("refs/heads/") || ref.ref.startsWith("refs/tags/")),
			);
		if (!moved) {
			return [];
		}
		const { debounceMs } = this.#options;
		const marked: string[] = [];
		for (const schedule of this.#options.schedules.list()) {
			if (schedule.follow && schedule.parents.includes(repo)) {
				this.#options.schedules.trigger(schedule.id, `parent ${repo}`, {
					debounce: { ms: debounceMs, maxWaitMs: debounceMs * 10 },
				});
				marked.push(schedule.id);
			}
		}
		return marked;
	}

	/** Checks a schedule now (`--force`: merge even if nothing changed); resolves when that check is done. */
	async runNow(id: string, options: { force?: boolean } = {}): Promise<ScheduleRun | undefined> {
		if (!this.#options.schedules.trigger(id, "run-now", { force: options.force ?? false })) {
			return undefined;
		}
		await this.tick(id);
		return this.#options.schedules.get(id)?.lastRun;
	}

	/** One pass: fires cron times and polls that are due, then checks every due schedule. Passes never overlap. */
	tick(only?: string): Promise<void> {
		const next = this.#ticking.then(() =>
			this.#tick(only).catch((error: unknown) => this.#options.log.error({ err: error }, "schedule tick failed")),
		);
		this.#ticking = next;
		return next;
	}

	async #tick(only: string | undefined): Promise<void> {
		const { schedules, jobs, log, pollMs } = this.#options;
		const now = this.#now();
		for (const schedule of schedules.list()) {
			if (only !== undefined && schedule.id !== only) {
				continue;
			}
			if (schedule.cron !== undefined) {
				const timezone = schedule.timezone ?? this.#options.timezone;
				if (schedule.nextCronAt === undefined || schedule.nextCronAt <= now) {
					if (schedule.nextCronAt !== undefined) {
						// However many times were missed, the schedule runs once; the next time counts from now.
						schedules.trigger(schedule.id, "cron");
					}
					schedules.setTimers(schedule.id, { nextCronAt: nextCronRun(schedule.cron, timezone, now) });
				}
			}
			if (schedule.follow && (schedule.nextPollAt === undefined || schedule.nextPollAt <= now)) {
				if (schedule.nextPollAt !== undefined) {
					schedules.trigger(schedule.id, schedule.lastRun === undefined ? "first check" : "poll");
				}
				schedules.setTimers(schedule.id, { nextPollAt: now + pollMs });
			}
		}
		for (const schedule of schedules.due()) {
			if (only !== undefined && schedule.id !== only) {
				continue;
			}
			// A run waits for the schedule's job to end: it may have published what the triggers asked for already.
			if (jobs.jobsOfSchedule(schedule.id).some(isActive)) {
				continue;
			}
			const claimed = schedules.claimRun(schedule.id, this.#owner, this.#options.leaseMs ?? 300_000);
			if (!claimed) {
				continue;
			}
			let run: Omit<ScheduleRun, "at">;
			try {
				run = await this.#check(schedule, claimed.triggers, claimed.force);
			} catch (error) {
				run = { triggers: claimed.triggers, outcome: "failed", detail: (error as Error).message, jobId: undefined };
			}
			schedules.finishRun(schedule.id, this.#owner, claimed, run);
			log.info({ schedule: schedule.id, ...run }, "schedule checked");
		}
	}

	async #check(schedule: Schedule, triggers: string[], force: boolean): Promise<Omit<ScheduleRun, "at">> {
		const { jobs } = this.#options;
		const previous = await this.#lastPublication(schedule);
		const check = await checkSchedule(schedule, previous, this.#options.models);
		if (check.outcome === "failed") {
			return { triggers, outcome: "failed", detail: check.error, jobId: undefined };
		}
		if (check.outcome === "up-to-date" && !force) {
			return { triggers, outcome: "up-to-date", detail: undefined, jobId: undefined };
		}
		const scheduled: ScheduledRun = {
			scheduleId: schedule.id,
			triggers,
			previous,
			publish: schedule.publish,
			runner: schedule.runner,
			...(schedule.hfJobs ? { hfJobs: schedule.hfJobs } : {}),
		};
		const job = jobs.createJob({
			repo: schedule.thread?.repo ?? schedule.target,
			discussion: schedule.thread?.discussion,
			requestCommentId: `schedule:${schedule.id}:${randomBytes(8).toString("hex")}`,
			requester: schedule.requester,
			recipe: schedule.recipe,
			recipeLineOffset: schedule.recipeLineOffset,
			outputRepo: schedule.target,
			private: schedule.private,
			replyCommentId: undefined,
			schedule: scheduled,
		});
		const changes = check.outcome === "changed" ? check.changes : [];
		const detail =
			check.outcome === "changed"
				? [...check.reasons, ...changes.map((change) => describeParentChange(change))].join("; ")
				: "forced: nothing had changed";
		if (schedule.thread && this.#options.postComment) {
			const note = `Schedule \`${schedule.id}\` (${triggers.join(", ")}): ${
				changes.length > 0
					? changes.map((change) => describeParentChange(change, (text) => `\`${text}\``)).join(", ")
					: detail
			}.`;
			jobs.addEvent(job.id, "preflight", { note });
			try {
				const posted = await this.#options.postComment(
					schedule.thread.repo,
					schedule.thread.discussion,
					renderJob({ id: job.id, outputRepo: schedule.target, method: "merge", phase: "queued", note }),
				);
				jobs.setReplyComment(job.id, posted.commentId);
			} catch (error) {
				this.#options.log.warn({ err: error, schedule: schedule.id }, "could not announce the re-merge");
			}
		}
		this.#options.notify();
		return { triggers, outcome: "queued", detail, jobId: job.id };
	}

	/**
	 * What the schedule last published: its latest successful job's record, or, when the database does not know
	 * (a new data folder), the job record in the target repo if this schedule wrote it.
	 */
	async #lastPublication(schedule: Schedule): Promise<PublishedInputs | undefined> {
		const succeeded = this.#options.jobs.jobsOfSchedule(schedule.id).filter((job) => job.state === "succeeded");
		const result = succeeded.at(-1)?.result as { record?: { inputs?: Record<string, string> } } | undefined;
		const fromJob = result?.record as Partial<PublishedInputs> | undefined;
		if (fromJob?.inputs) {
			return { inputs: fromJob.inputs, recipeSha256: fromJob.recipeSha256, mathVersion: fromJob.mathVersion };
		}
		const found = await readJobRecord(schedule.target, this.#options.models.hub ?? {});
		const record = found?.record;
		if (record?.schedule === schedule.id && record.inputs) {
			return { inputs: record.inputs, recipeSha256: record.recipeSha256, mathVersion: record.mathVersion };
		}
		return undefined;
	}
}
