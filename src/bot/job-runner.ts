import { fork } from "node:child_process";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { MERGE_PROCESS_PRELOAD } from "../engine/merge-process.js";
import type { BotHub } from "./bot-hub.js";
import type { Job, JobEvent, JobStore } from "./job-store.js";
import type { JobRecord } from "./read-job-record.js";
import { type JobView, renderJob } from "./render-reply.js";

/** What the merge process reports to the bot (a serialisable digest of the merge's progress events). */
export type JobProgress =
	| { type: "phase"; phase: "preparing" | "downloading" | "merging" | "uploading"; method?: string }
	| {
			type: "progress";
			tensorsDone?: number;
			tensorsTotal?: number;
			bytesDone?: number;
			bytesTotal?: number;
			etaSeconds?: number;
	  }
	| { type: "published"; url: string; commit: string; summary: string; record?: JobRecord }
	| { type: "failed"; error: string; transient: boolean }
	/** The run went to another machine (a Hugging Face Job); kept in the events so that a retry follows it there. */
	| { type: "submitted"; runner: "hf-jobs"; id: string; url: string };

export interface JobRunnerOptions {
	store: JobStore;
	hub: BotHub;
	log: Logger;
	/** Folder for each attempt's work files. */
	workDir: string;
	/** Environment for the merge process (Hub endpoint and token, cache). */
	env: NodeJS.ProcessEnv;
	leaseMs?: number;
	progressEditMs?: number;
	/** Backoff before retrying a job that hit a transient error, by attempt number. */
	retryDelayMs?: (attempt: number) => number;
	maxAttempts?: number;
	/**
	 * Runs a job somewhere other than a local child process (scheduled jobs with `runner: hf-jobs`), given the job's
	 * events so far; undefined runs it locally.
	 */
	execute?: (job: Job, signal: AbortSignal, events: JobEvent[]) => AsyncIterable<JobProgress> | undefined;
}

// The merge process always runs compiled code; when this module runs from its TypeScript source (tests), that is
// the build in dist/.
const MERGE_PROCESS = fileURLToPath(
	new URL(
		import.meta.url.endsWith(".ts") ? "../../dist/bot/merge-job-process.js" : "./merge-job-process.js",
		import.meta.url,
	),
);

/**
 * Takes jobs from the store one at a time and runs each merge in a child process, so the webhook endpoint keeps
 * answering while a merge computes. It holds a lease with heartbeats: if this process dies, the lease expires and
 * the next start takes the job again from a clean folder.
 */
export class JobRunner {
	readonly #options: Required<Omit<JobRunnerOptions, "env" | "workDir" | "store" | "hub" | "log" | "execute">> &
		JobRunnerOptions;
	readonly #owner = `${hostname()}:${process.pid}:${Date.now()}`;
	#stopping = false;
	#wake: (() => void) | undefined;
	#loop: Promise<void> | undefined;
	#current: { job: Job; abort: AbortController } | undefined;

	constructor(options: JobRunnerOptions) {
		this.#options = {
			leaseMs: 60_000,
			progressEditMs: 15_000,
			retryDelayMs: (attempt) => Math.min(300_000, 5_000 * 2 ** (attempt - 1)),
			maxAttempts: 3,
			...options,
		};
	}

	start(): void {
		this.#loop ??= this.#run();
	}

	/** A job was queued or cancelled: look again now. */
	notify(): void {
		this.#wake?.();
		const current = this.#current;
		if (current && this.#options.store.getJob(current.job.id)?.state === "cancelled") {
			current.abort.abort();
		}
	}

	/** Stops taking jobs; the running one finishes (or is abandoned to its lease if `abortRunning`). */
	async stop(options: { abortRunning?: boolean } = {}): Promise<void> {
		this.#stopping = true;
		if (options.abortRunning) {
			this.#current?.abort.abort();
		}
		this.#wake?.();
		await this.#loop;
	}

	async #run(): Promise<void> {
		const { store, leaseMs } = this.#options;
		while (!this.#stopping) {
			const job = store.claimNextJob(this.#owner, leaseMs);
			if (!job) {
				await new Promise<void>((resolve) => {
					this.#wake = resolve;
					setTimeout(resolve, Math.min(leaseMs / 2, 5_000)).unref();
				});
				this.#wake = undefined;
				continue;
			}
			await this.#runJob(job);
		}
	}

	async #runJob(job: Job): Promise<void> {
		const { store, hub, log: parentLog, leaseMs, progressEditMs } = this.#options;
		const log = parentLog.child({ job: job.id });
		const abort = new AbortController();
		this.#current = { job, abort };
		// What the first answer showed (the preflight, and a note such as "this merge follows its parents") stays.
		const preflight = store.events(job.id).find((event) => event.type === "preflight")?.data as
			| { markdown?: string; note?: string }
			| undefined;
		let view: JobView = {
			id: job.id,
			outputRepo: job.outputRepo,
			method: "merge",
			phase: "preparing",
			...(preflight?.markdown ? { preflight: preflight.markdown } : {}),
			...(job.attempts > 1
				? {
						note: `Attempt ${job.attempts}: the previous run was interrupted, so the merge starts again from a clean state.`,
					}
				: preflight?.note
					? { note: preflight.note }
					: {}),
		};
		let lastEdit = 0;
		const edit = async (force: boolean): Promise<void> => {
			if (!job.replyCommentId || job.discussion === undefined || (!force && Date.now() - lastEdit < progressEditMs)) {
				return;
			}
			lastEdit = Date.now();
			try {
				await hub.editComment(job.repo, job.discussion, job.replyCommentId, renderJob(view));
			} catch (error) {
				log.warn({ err: error }, "could not edit the progress comment");
			}
		};
		const heartbeat = setInterval(() => {
			if (!store.heartbeat(job.id, this.#owner, leaseMs)) {
				abort.abort();
			}
		}, leaseMs / 3);
		heartbeat.unref();
		await edit(true);
		try {
			const run = this.#options.execute?.(job, abort.signal, store.events(job.id)) ?? this.#spawn(job, abort.signal);
			for await (const progress of run) {
				store.addEvent(job.id, progress.type, progress);
				if (progress.type === "phase") {
					view = { ...view, phase: progress.phase, ...(progress.method ? { method: progress.method } : {}) };
					await edit(true);
				} else if (progress.type === "progress") {
					view = { ...view, ...progress };
					await edit(false);
				} else if (progress.type === "published") {
					view = { ...view, phase: "succeeded", url: progress.url, summary: progress.summary };
					store.finish(job.id, this.#owner, {
						state: "succeeded",
						// The record says what the merge was made from: a schedule's next run compares against it.
						result: {
							url: progress.url,
							commit: progress.commit,
							...(progress.record ? { record: progress.record } : {}),
						},
					});
					log.info({ url: progress.url }, "merge published");
				} else if (progress.type === "submitted") {
					log.info({ runner: progress.runner, id: progress.id, url: progress.url }, "merge submitted");
				} else {
					if (progress.transient && job.attempts < this.#options.maxAttempts) {
						const delay = this.#options.retryDelayMs(job.attempts);
						store.retryLater(job.id, this.#owner, delay, progress.error);
						view = {
							...view,
							phase: "queued",
							note: `A temporary error stopped attempt ${job.attempts} (${progress.error}); trying again in ${Math.round(delay / 1000)} s.`,
						};
					} else {
						store.finish(job.id, this.#owner, { state: "failed", error: progress.error });
						view = { ...view, phase: "failed", error: progress.error };
					}
					log.warn({ error: progress.error }, "merge failed");
				}
			}
			const final = store.getJob(job.id);
			if (final?.state === "cancelled") {
				view = { ...view, phase: "cancelled" };
			} else if (final?.state === "running" && !abort.signal.aborted) {
				store.finish(job.id, this.#owner, { state: "failed", error: "the merge process ended without a result" });
				view = { ...view, phase: "failed", error: "the merge process ended without a result" };
			}
		} finally {
			clearInterval(heartbeat);
			this.#current = undefined;
		}
		if (!(abort.signal.aborted && store.getJob(job.id)?.state === "running")) {
			await edit(true);
		}
	}

	/** Runs one attempt in a child process and yields what it reports. */
	async *#spawn(job: Job, signal: AbortSignal): AsyncGenerator<JobProgress> {
		const child = fork(MERGE_PROCESS, [], {
			env: this.#options.env,
			execArgv: [...process.execArgv, ...MERGE_PROCESS_PRELOAD],
			stdio: ["ignore", "ignore", "pipe", "ipc"],
			signal,
		});
		const queue: JobProgress[] = [];
		let done = false;
		let wake: (() => void) | undefined;
		let stderr = "";
		child.stderr?.on("data", (chunk: Buffer) => {
			stderr = (stderr + chunk.toString()).slice(-4000);
		});
		child.on("message", (message) => {
			queue.push(message as JobProgress);
			wake?.();
		});
		child.on("exit", (code, sig) => {
			if (code !== 0 && !signal.aborted && !queue.some((p) => p.type === "published" || p.type === "failed")) {
				queue.push({
					type: "failed",
					error: `the merge process exited with ${sig ?? `code ${code}`}: ${stderr.trim().split("\n").slice(-6).join(" | ")}`,
					transient: true,
				});
			}
			done = true;
			wake?.();
		});
		child.on("error", () => undefined);
		child.send({ job, workDir: this.#options.workDir });
		while (!done || queue.length > 0) {
			const next = queue.shift();
			if (next) {
				yield next;
				continue;
			}
			await new Promise<void>((resolve) => {
				wake = resolve;
			});
			wake = undefined;
		}
	}
}
