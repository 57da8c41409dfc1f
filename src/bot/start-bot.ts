import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import pino, { type Logger } from "pino";
import type { HubParams } from "../hub/hub-params.js";
import { runOnHfJobs } from "../schedule/run-on-hf-jobs.js";
import { ScheduleStore } from "../schedule/schedule-store.js";
import { Scheduler } from "../schedule/scheduler.js";
import { syncConfigSchedules } from "../schedule/sync-config-schedules.js";
import type { BotConfig } from "./bot-config.js";
import type { BotHub } from "./bot-hub.js";
import { createBotApp } from "./create-bot-app.js";
import { createBotHub } from "./create-bot-hub.js";
import { JobRunner } from "./job-runner.js";
import { JobStore } from "./job-store.js";

export interface StartBotOptions {
	config: BotConfig;
	/** The Hub the bot serves, with the bot account's token. */
	hub: HubParams & { accessToken: string };
	/** `X-Webhook-Secret`; undefined only with `allowNoSecret` (development). */
	secret: string | undefined;
	allowNoSecret?: boolean;
	port?: number;
	/** Where to listen: loopback by default; `0.0.0.0` to receive the Hub's webhooks from outside. */
	host?: string;
	log?: Logger;
	/** Extra environment for merge processes (e.g. the HF cache folder). */
	mergeEnv?: NodeJS.ProcessEnv;
	leaseMs?: number;
	progressEditMs?: number;
	/** How often the scheduler looks for due schedules (default 1 s). */
	scheduleTickMs?: number;
}

export interface RunningBot {
	url: string;
	hub: BotHub;
	store: JobStore;
	runner: JobRunner;
	/** Scheduled and followed merges. */
	schedules: { store: ScheduleStore; scheduler: Scheduler };
	/** Waits until every webhook accepted so far has been handled. */
	idle(): Promise<void>;
	/** Graceful shutdown: stop answering, let the running merge finish (or abandon it to its lease), close the store. */
	close(options?: { abortRunning?: boolean }): Promise<void>;
}

/** Wires the bot: job store, Hub access, webhook server and the worker that runs merges. */
export async function startBot(options: StartBotOptions): Promise<RunningBot> {
	if (options.secret === undefined && !options.allowNoSecret) {
		throw new Error(
			"the bot needs a webhook secret (WEBHOOK_SECRET): without one anyone could make it merge; pass --insecure-no-secret for local development only",
		);
	}
	const log = options.log ?? pino({ name: "mergesmith-bot" });
	const { config } = options;
	const store = new JobStore(join(config.dataDir, "bot.db"));
	const hub = await createBotHub(options.hub);
	const runner = new JobRunner({
		store,
		hub,
		log,
		workDir: join(config.dataDir, "work"),
		env: {
			...process.env,
			HF_HUB_OFFLINE: "0",
			HF_HUB_CACHE: join(config.dataDir, "hf-cache"),
			...options.mergeEnv,
			HF_TOKEN: options.hub.accessToken,
			...(options.hub.hubUrl ? { HF_ENDPOINT: options.hub.hubUrl } : {}),
		},
		progressEditMs: options.progressEditMs ?? config.progressEditSeconds * 1000,
		...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
		// Schedules with `runner: hf-jobs` run on Hugging Face's hardware; everything else in a local child process.
		execute: (job, signal, events) =>
			job.schedule?.runner === "hf-jobs"
				? runOnHfJobs(job, {
						hub: options.hub,
						image: job.schedule.hfJobs?.image ?? config.hfJobs.image,
						flavor: job.schedule.hfJobs?.flavor ?? config.hfJobs.flavor,
						timeoutSeconds: job.schedule.hfJobs?.timeoutSeconds ?? config.hfJobs.timeoutSeconds,
						namespace: job.schedule.hfJobs?.namespace ?? config.hfJobs.namespace ?? hub.me.name,
						events,
						signal,
						cancelled: () => store.getJob(job.id)?.state === "cancelled",
					})
				: undefined,
	});
	const models = { cacheDir: join(config.dataDir, "hf-cache"), offline: false, hubOnly: true, hub: options.hub };
	const scheduleStore = new ScheduleStore(join(config.dataDir, "bot.db"));
	const scheduler = new Scheduler({
		schedules: scheduleStore,
		jobs: store,
		models,
		log: log.child({ component: "scheduler" }),
		notify: () => runner.notify(),
		debounceMs: config.followDebounceSeconds * 1000,
		pollMs: config.followPollSeconds * 1000,
		timezone: config.timezone,
		...(options.scheduleTickMs === undefined ? {} : { tickMs: options.scheduleTickMs }),
		postComment: (repo, discussion, markdown) => hub.postComment(repo, discussion, markdown),
	});
	let synced: ReturnType<typeof syncConfigSchedules>;
	try {
		synced = syncConfigSchedules(config.schedules, scheduleStore, scheduler, {
			timezone: config.timezone,
			pollMs: config.followPollSeconds * 1000,
			now: Date.now(),
		});
	} catch (error) {
		scheduleStore.close();
		store.close();
		throw error;
	}
	if (synced.added.length + synced.updated.length + synced.removed.length > 0) {
		log.info(synced, "schedules from the config file");
	}
	const schedules = { store: scheduleStore, scheduler };
	const { app, idle } = createBotApp(
		{ store, hub, models, config, log, notify: () => runner.notify(), schedules },
		{ secret: options.secret },
	);
	const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
		const started = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: options.host ?? "127.0.0.1" }, () =>
			resolve(started),
		);
		started.once("error", reject);
	});
	runner.start();
	scheduler.start();
	const address = server.address() as AddressInfo;
	log.info({ account: hub.me.name, port: address.port }, "bot listening");
	return {
		url: `http://${options.host === undefined || options.host === "0.0.0.0" ? "127.0.0.1" : options.host}:${address.port}`,
		hub,
		store,
		runner,
		schedules,
		idle,
		close: async (closeOptions = {}) => {
			await new Promise<void>((resolve) => {
				server.close(() => resolve());
				if ("closeIdleConnections" in server) {
					server.closeIdleConnections();
				}
			});
			await idle();
			await scheduler.stop();
			await runner.stop(closeOptions);
			scheduleStore.close();
			store.close();
		},
	};
}
