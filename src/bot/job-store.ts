import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { ScheduledRun } from "../schedule/schedule.js";

export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export interface JobRequest {
	/** `owner/name` of the repo whose discussion holds the request (a scheduled job without one: its target). */
	repo: string;
	/** Undefined for a scheduled job that reports in no discussion. */
	discussion: number | undefined;
	requestCommentId: string;
	requester: { id: string; name: string };
	recipe: string;
	recipeLineOffset: number;
	outputRepo: string;
	private: boolean;
	/** The bot's answer in the thread, edited as the job moves. */
	replyCommentId: string | undefined;
	/** Set on jobs that a schedule made (`/merge --follow` included): why it runs and how it publishes. */
	schedule?: ScheduledRun;
}

export interface Job extends JobRequest {
	id: string;
	state: JobState;
	attempts: number;
	leaseOwner: string | undefined;
	leaseUntil: number | undefined;
	notBefore: number;
	result: unknown;
	error: string | undefined;
	createdAt: number;
	updatedAt: number;
}

export interface JobEvent {
	at: number;
	type: string;
	data: unknown;
}

interface JobRow {
	id: string;
	state: JobState;
	repo: string;
	discussion: number;
	request_comment_id: string;
	requester_id: string;
	requester_name: string;
	recipe: string;
	recipe_line_offset: number;
	output_repo: string;
	private: number;
	reply_comment_id: string | null;
	schedule_id: string | null;
	schedule_run: string | null;
	attempts: number;
	lease_owner: string | null;
	lease_until: number | null;
	not_before: number;
	result: string | null;
	error: string | null;
	created_at: number;
	updated_at: number;
}

const SCHEMA = `
create table if not exists jobs (
	id text primary key,
	state text not null,
	repo text not null,
	discussion integer not null,
	request_comment_id text not null unique,
	requester_id text not null,
	requester_name text not null,
	recipe text not null,
	recipe_line_offset integer not null,
	output_repo text not null,
	private integer not null,
	reply_comment_id text,
	schedule_id text,
	schedule_run text,
	attempts integer not null default 0,
	lease_owner text,
	lease_until integer,
	not_before integer not null default 0,
	result text,
	error text,
	created_at integer not null,
	updated_at integer not null
);
create index if not exists jobs_by_state on jobs (state, not_before, created_at);
create index if not exists jobs_by_thread on jobs (repo, discussion);
create table if not exists job_events (
	id integer primary key autoincrement,
	job_id text not null references jobs (id),
	at integer not null,
	type text not null,
	data text not null
);
create table if not exists deliveries (key text primary key, at integer not null);
`;

function toJob(row: JobRow): Job {
	return {
		id: row.id,
		state: row.state,
		repo: row.repo,
		// 0 is "no discussion": the column is NOT NULL in existing databases, and Hub discussions count from 1.
		discussion: row.discussion === 0 ? undefined : row.discussion,
		requestCommentId: row.request_comment_id,
		requester: { id: row.requester_id, name: row.requester_name },
		recipe: row.recipe,
		recipeLineOffset: row.recipe_line_offset,
		outputRepo: row.output_repo,
		private: row.private === 1,
		replyCommentId: row.reply_comment_id ?? undefined,
		...(row.schedule_run === null ? {} : { schedule: JSON.parse(row.schedule_run) as ScheduledRun }),
		attempts: row.attempts,
		leaseOwner: row.lease_owner ?? undefined,
		leaseUntil: row.lease_until ?? undefined,
		notBefore: row.not_before,
		result: row.result === null ? undefined : JSON.parse(row.result),
		error: row.error ?? undefined,
		createdAt: row.created_at,
		updatedAt: row.updated_at,
	};
}

/**
 * The bot's durable state in one SQLite file: jobs with leases (a worker that dies leaves an expired lease that
 * the next start picks up), every state change and progress event, and the deliveries already seen.
 */
export class JobStore {
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
		// Databases made before scheduled merges lack their columns.
		const columns = new Set(
			(this.#db.prepare("pragma table_info(jobs)").all() as { name: string }[]).map((column) => column.name),
		);
		for (const column of ["schedule_id", "schedule_run"]) {
			if (!columns.has(column)) {
				this.#db.exec(`alter table jobs add column ${column} text`);
			}
		}
		this.#db.exec("create index if not exists jobs_by_schedule on jobs (schedule_id, created_at)");
		this.#now = options.now ?? Date.now;
	}

	/** True the first time a delivery key is seen; replays and retries get false. */
	recordDelivery(key: string): boolean {
		const result = this.#db.prepare("insert or ignore into deliveries (key, at) values (?, ?)").run(key, this.#now());
		return result.changes === 1;
	}

	/** Creates a queued job; a second request for the same comment returns the first job instead. */
	createJob(request: JobRequest): Job {
		const existing = this.#db
			.prepare("select * from jobs where request_comment_id = ?")
			.get(request.requestCommentId) as JobRow | undefined;
		if (existing) {
			return toJob(existing);
		}
		const now = this.#now();
		const id = randomUUID();
		this.#db
			.prepare(
				`insert into jobs (id, state, repo, discussion, request_comment_id, requester_id, requester_name, recipe,
				recipe_line_offset, output_repo, private, reply_comment_id, schedule_id, schedule_run, created_at, updated_at)
				values (?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			)
			.run(
				id,
				request.repo,
				request.discussion ?? 0,
				request.requestCommentId,
				request.requester.id,
				request.requester.name,
				request.recipe,
				request.recipeLineOffset,
				request.outputRepo,
				request.private ? 1 : 0,
				request.replyCommentId ?? null,
				request.schedule?.scheduleId ?? null,
				request.schedule === undefined ? null : JSON.stringify(request.schedule),
				now,
				now,
			);
		this.addEvent(id, "state", { state: "queued" });
		return this.getJob(id) as Job;
	}

	getJob(id: string): Job | undefined {
		const row = this.#db.prepare("select * from jobs where id = ?").get(id) as JobRow | undefined;
		return row ? toJob(row) : undefined;
	}

	jobsInThread(repo: string, discussion: number): Job[] {
		const rows = this.#db
			.prepare("select * from jobs where repo = ? and discussion = ? order by created_at")
			.all(repo, discussion) as JobRow[];
		return rows.map(toJob);
	}

	/** The jobs a schedule made, oldest first. */
	jobsOfSchedule(scheduleId: string): Job[] {
		const rows = this.#db
			.prepare("select * from jobs where schedule_id = ? order by created_at")
			.all(scheduleId) as JobRow[];
		return rows.map(toJob);
	}

	/** How many jobs a user asked for since `since` (ms epoch), for the hourly rate limit. */
	requestsSince(requesterId: string, since: number): number {
		return (
			this.#db
				.prepare("select count(*) as n from jobs where requester_id = ? and created_at >= ?")
				.get(requesterId, since) as { n: number }
		).n;
	}

	/** 1 for the next job to run; undefined when the job is not waiting. */
	queuePosition(id: string): number | undefined {
		const job = this.getJob(id);
		if (job?.state !== "queued") {
			return undefined;
		}
		const ahead = this.#db
			.prepare("select count(*) as n from jobs where state = 'queued' and created_at < ?")
			.get(job.createdAt) as { n: number };
		return ahead.n + 1;
	}

	setReplyComment(id: string, commentId: string): void {
		this.#db
			.prepare("update jobs set reply_comment_id = ?, updated_at = ? where id = ?")
			.run(commentId, this.#now(), id);
	}

	/**
	 * Takes the oldest runnable job for `owner`: a queued one whose backoff has passed, or a running one whose
	 * lease expired because its worker died. One transaction, so two workers never take the same job.
	 */
	claimNextJob(owner: string, leaseMs: number): Job | undefined {
		const claim = this.#db.transaction((): Job | undefined => {
			const now = this.#now();
			const row = this.#db
				.prepare(
					`select * from jobs where (state = 'queued' and not_before <= ?) or (state = 'running' and lease_until < ?)
					order by created_at limit 1`,
				)
				.get(now, now) as JobRow | undefined;
			if (!row) {
				return undefined;
			}
			const recovered = row.state === "running";
			this.#db
				.prepare(
					"update jobs set state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ? where id = ?",
				)
				.run(owner, now + leaseMs, now, row.id);
			this.addEvent(row.id, "state", {
				state: "running",
				attempt: row.attempts + 1,
				...(recovered ? { recoveredFrom: row.lease_owner } : {}),
			});
			return this.getJob(row.id);
		});
		return claim();
	}

	/** Extends the lease; false when the job is no longer this worker's (cancelled, or taken over). */
	heartbeat(id: string, owner: string, leaseMs: number): boolean {
		const result = this.#db
			.prepare("update jobs set lease_until = ?, updated_at = ? where id = ? and lease_owner = ? and state = 'running'")
			.run(this.#now() + leaseMs, this.#now(), id, owner);
		return result.changes === 1;
	}

	finish(
		id: string,
		owner: string,
		outcome: { state: "succeeded"; result: unknown } | { state: "failed"; error: string },
	): boolean {
		const result = this.#db
			.prepare(
				"update jobs set state = ?, result = ?, error = ?, lease_owner = null, lease_until = null, updated_at = ? where id = ? and lease_owner = ? and state = 'running'",
			)
			.run(
				outcome.state,
				outcome.state === "succeeded" ? JSON.stringify(outcome.result ?? null) : null,
				outcome.state === "failed" ? outcome.error : null,
				this.#now(),
				id,
				owner,
			);
		if (result.changes === 1) {
			this.addEvent(
				id,
				"state",
				outcome.state === "succeeded" ? { state: "succeeded" } : { state: "failed", error: outcome.error },
			);
		}
		return result.changes === 1;
	}

	/** Puts a job that hit a transient error back in the queue after `delayMs`. */
	retryLater(id: string, owner: string, delayMs: number, error: string): void {
		const now = this.#now();
		this.#db
			.prepare(
				"update jobs set state = 'queued', lease_owner = null, lease_until = null, not_before = ?, error = ?, updated_at = ? where id = ? and lease_owner = ?",
			)
			.run(now + delayMs, error, now, id, owner);
		this.addEvent(id, "state", { state: "queued", retryInMs: delayMs, error });
	}

	cancel(id: string): boolean {
		const result = this.#db
			.prepare(
				"update jobs set state = 'cancelled', lease_owner = null, lease_until = null, updated_at = ? where id = ? and state in ('queued', 'running')",
			)
			.run(this.#now(), id);
		if (result.changes === 1) {
			this.addEvent(id, "state", { state: "cancelled" });
		}
		return result.changes === 1;
	}

	addEvent(id: string, type: string, data: unknown): void {
		this.#db
			.prepare("insert into job_events (job_id, at, type, data) values (?, ?, ?, ?)")
			.run(id, this.#now(), type, JSON.stringify(data));
	}

	events(id: string): JobEvent[] {
		const rows = this.#db.prepare("select at, type, data from job_events where job_id = ? order by id").all(id) as {
			at: number;
			type: string;
			data: string;
		}[];
		return rows.map((row) => ({ at: row.at, type: row.type, data: JSON.parse(row.data) }));
	}

	close(): void {
		this.#db.close();
	}
}
