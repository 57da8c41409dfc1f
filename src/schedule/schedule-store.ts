import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Schedule, ScheduleDefinition, ScheduleRun, ScheduleRunOutcome } from "./schedule.js";

interface ScheduleRow {
	id: string;
	name: string | null;
	definition: string;
	next_cron_at: number | null;
	next_poll_at: number | null;
	pending_at: number | null;
	pending_since: number | null;
	pending_triggers: string;
	pending_force: number;
	pending_rev: number;
	run_owner: string | null;
	run_until: number | null;
	created_at: number;
	updated_at: number;
}

interface RunRow {
	at: number;
	triggers: string;
	outcome: ScheduleRunOutcome;
	detail: string | null;
	job_id: string | null;
}

const SCHEMA = `
create table if not exists schedules (
	id text primary key,
	name text unique,
	definition text not null,
	next_cron_at integer,
	next_poll_at integer,
	pending_at integer,
	pending_since integer,
	pending_triggers text not null default '[]',
	pending_force integer not null default 0,
	pending_rev integer not null default 0,
	run_owner text,
	run_until integer,
	created_at integer not null,
	updated_at integer not null
);
create table if not exists schedule_runs (
	id integer primary key autoincrement,
	schedule_id text not null,
	at integer not null,
	triggers text not null,
	outcome text not null,
	detail text,
	job_id text
);
create index if not exists schedule_runs_by_schedule on schedule_runs (schedule_id, id);
`;

/** Triggers kept per pending run: enough to say why it ran, bounded when a parent commits in a loop. */
const MAX_TRIGGERS = 20;

/** What a claimed run saw pending: its triggers, and the revision to compare when it finishes. */
export interface ClaimedRun {
	rev: number;
	triggers: string[];
	force: boolean;
}

/**
 * Schedules and their runs, in the bot's SQLite file (the CLI and `mergesmith serve` share it). Triggers do not run
 * anything: they mark the schedule pending (with a debounce for parent changes), and a run is claimed under a lease,
 * so that two checks of one schedule never overlap, even from two processes.
 */
export class ScheduleStore {
	readonly #db: Database.Database;
	readonly #now: () => number;

	constructor(path: string, options: { now?: () => number } = {}) {
		if (path !== ":memory:") {
			mkdirSync(dirname(path), { recursive: true });
		}
		this.#db = new Database(path);
		this.#db.pragma("journal_mode = WAL");
		this.#db.pragma("busy_timeout = 5000");
		this.#db.exec(SCHEMA);
		this.#now = options.now ?? Date.now;
	}

	/** Stores a new schedule; a short random id, since people type it (`schedule remove ID`). */
	add(
		definition: ScheduleDefinition,
		timers: { nextCronAt: number | undefined; nextPollAt: number | undefined },
		id = randomBytes(4).toString("hex"),
	): Schedule {
		const now = this.#now();
		this.#db
			.prepare(
				`insert into schedules (id, name, definition, next_cron_at, next_poll_at, created_at, updated_at)
				values (?, ?, ?, ?, ?, ?, ?)`,
			)
			.run(
				id,
				definition.name ?? null,
				JSON.stringify(definition),
				timers.nextCronAt ?? null,
				timers.nextPollAt ?? null,
				now,
				now,
			);
		return this.get(id) as Schedule;
	}

	/** Replaces a schedule's definition (a config file edited), with new timers; its pending triggers stay. */
	replace(
		id: string,
		definition: ScheduleDefinition,
		timers: { nextCronAt: number | undefined; nextPollAt: number | undefined },
	): void {
		this.#db
			.prepare("update schedules set definition = ?, next_cron_at = ?, next_poll_at = ?, updated_at = ? where id = ?")
			.run(JSON.stringify(definition), timers.nextCronAt ?? null, timers.nextPollAt ?? null, this.#now(), id);
	}

	get(id: string): Schedule | undefined {
		const row = this.#db.prepare("select * from schedules where id = ?").get(id) as ScheduleRow | undefined;
		return row ? this.#toSchedule(row) : undefined;
	}

	list(): Schedule[] {
		const rows = this.#db.prepare("select * from schedules order by created_at, id").all() as ScheduleRow[];
		return rows.map((row) => this.#toSchedule(row));
	}

	remove(id: string): boolean {
		return this.#db.prepare("delete from schedules where id = ?").run(id).changes === 1;
	}

	setTimers(id: string, timers: { nextCronAt?: number | undefined; nextPollAt?: number | undefined }): void {
		if ("nextCronAt" in timers) {
			this.#db.prepare("update schedules set next_cron_at = ? where id = ?").run(timers.nextCronAt ?? null, id);
		}
		if ("nextPollAt" in timers) {
			this.#db.prepare("update schedules set next_poll_at = ? where id = ?").run(timers.nextPollAt ?? null, id);
		}
	}

	/**
	 * Marks a schedule pending. Without `debounce` it is due at once; with it, due `ms` after the latest trigger
	 * (each new one pushes the run back, so a burst of commits makes one run) but never later than `maxWaitMs` after
	 * the first, so a parent that commits all day is still followed.
	 */
	trigger(
		id: string,
		trigger: string,
		options: { debounce?: { ms: number; maxWaitMs: number }; force?: boolean } = {},
	): boolean {
		const mark = this.#db.transaction((): boolean => {
			const row = this.#db.prepare("select * from schedules where id = ?").get(id) as ScheduleRow | undefined;
			if (!row) {
				return false;
			}
			const now = this.#now();
			const since = row.pending_since ?? now;
			const pendingAt = options.debounce
				? Math.max(row.pending_at ?? 0, Math.min(now + options.debounce.ms, since + options.debounce.maxWaitMs))
				: now;
			const triggers = JSON.parse(row.pending_triggers) as string[];
			if (!triggers.includes(trigger)) {
				triggers.push(trigger);
			}
			this.#db
				.prepare(
					`update schedules set pending_at = ?, pending_since = ?, pending_triggers = ?, pending_force = ?,
					pending_rev = pending_rev + 1, updated_at = ? where id = ?`,
				)
				.run(
					pendingAt,
					since,
					JSON.stringify(triggers.slice(-MAX_TRIGGERS)),
					row.pending_force === 1 || options.force ? 1 : 0,
					now,
					id,
				);
			return true;
		});
		return mark();
	}

	/** Schedules whose pending triggers are due now. */
	due(): Schedule[] {
		const rows = this.#db
			.prepare("select * from schedules where pending_at is not null and pending_at <= ? order by pending_at")
			.all(this.#now()) as ScheduleRow[];
		return rows.map((row) => this.#toSchedule(row));
	}

	/**
	 * Takes the due run of a schedule for `owner`, unless another check of it holds the lease. One transaction, so
	 * two processes never both take it; a checker that dies leaves a lease that expires.
	 */
	claimRun(id: string, owner: string, leaseMs: number): ClaimedRun | undefined {
		const claim = this.#db.transaction((): ClaimedRun | undefined => {
			const now = this.#now();
			const row = this.#db
				.prepare(
					"select * from schedules where id = ? and pending_at is not null and pending_at <= ? and (run_until is null or run_until < ?)",
				)
				.get(id, now, now) as ScheduleRow | undefined;
			if (!row) {
				return undefined;
			}
			this.#db.prepare("update schedules set run_owner = ?, run_until = ? where id = ?").run(owner, now + leaseMs, id);
			return {
				rev: row.pending_rev,
				triggers: JSON.parse(row.pending_triggers) as string[],
				force: row.pending_force === 1,
			};
		});
		return claim();
	}

	/**
	 * Ends a claimed run: records it, releases the lease, and clears the pending triggers unless new ones arrived
	 * while it ran (they stay pending, for the next run).
	 */
	finishRun(id: string, owner: string, claimed: ClaimedRun, run: Omit<ScheduleRun, "at">): void {
		const finish = this.#db.transaction(() => {
			const now = this.#now();
			this.#db
				.prepare(
					"insert into schedule_runs (schedule_id, at, triggers, outcome, detail, job_id) values (?, ?, ?, ?, ?, ?)",
				)
				.run(id, now, JSON.stringify(run.triggers), run.outcome, run.detail ?? null, run.jobId ?? null);
			this.#db
				.prepare(
					`update schedules set pending_at = null, pending_since = null, pending_triggers = '[]', pending_force = 0
					where id = ? and pending_rev = ?`,
				)
				.run(id, claimed.rev);
			this.#db
				.prepare(
					"update schedules set run_owner = null, run_until = null, updated_at = ? where id = ? and run_owner = ?",
				)
				.run(now, id, owner);
		});
		finish();
	}

	/** The latest runs of a schedule, newest first. */
	runs(id: string, limit = 20): ScheduleRun[] {
		const rows = this.#db
			.prepare("select * from schedule_runs where schedule_id = ? order by id desc limit ?")
			.all(id, limit) as RunRow[];
		return rows.map(toRun);
	}

	close(): void {
		this.#db.close();
	}

	#toSchedule(row: ScheduleRow): Schedule {
		const definition = JSON.parse(row.definition) as ScheduleDefinition;
		return {
			...definition,
			id: row.id,
			createdAt: row.created_at,
			nextCronAt: row.next_cron_at ?? undefined,
			nextPollAt: row.next_poll_at ?? undefined,
			pendingAt: row.pending_at ?? undefined,
			pendingTriggers: JSON.parse(row.pending_triggers) as string[],
			pendingForce: row.pending_force === 1,
			lastRun: this.runs(row.id, 1)[0],
		};
	}
}

function toRun(row: RunRow): ScheduleRun {
	return {
		at: row.at,
		triggers: JSON.parse(row.triggers) as string[],
		outcome: row.outcome,
		detail: row.detail ?? undefined,
		jobId: row.job_id ?? undefined,
	};
}
