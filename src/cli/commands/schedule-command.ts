import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { type BotConfig, loadBotConfig } from "../../bot/bot-config.js";
import type { JobProgress } from "../../bot/job-runner.js";
import { type Job, JobStore } from "../../bot/job-store.js";
import { runMergeJob } from "../../bot/run-merge-job.js";
import { defineSchedule } from "../../schedule/define-schedule.js";
import { PROGRESS_PREFIX } from "../../schedule/parse-progress-line.js";
import type { Schedule } from "../../schedule/schedule.js";
import { ScheduleStore } from "../../schedule/schedule-store.js";
import { scheduleTimers } from "../../schedule/schedule-timers.js";
import { Scheduler } from "../../schedule/scheduler.js";
import { EXIT } from "../exit-codes.js";
import type { CliIo } from "../main.js";
import { readRecipeText } from "../read-recipe-text.js";

const USAGE = `usage:
  mergesmith schedule add RECIPE --push OWNER/NAME [--cron EXPR] [--tz ZONE] [--follow] [--pr] [--private]
                          [--runner local|hf-jobs] [--flavor FLAVOR] [--timeout SECONDS] [--name NAME]
  mergesmith schedule list [--json]
  mergesmith schedule remove ID
  mergesmith schedule run-now ID [--force]
  mergesmith schedule run-job          (inside a Hugging Face Job: runs the bot job in MERGESMITH_JOB)
Each takes --data DIR or --config FILE: the data folder of \`mergesmith serve\` (default .mergesmith), which runs them.
`;

const STORE_OPTIONS = { data: { type: "string" }, config: { type: "string" } } as const;

const time = (ms: number | undefined): string =>
	ms === undefined ? "-" : `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;

function settings(values: { data?: string | undefined; config?: string | undefined }): BotConfig {
	return loadBotConfig(values.config, values.data ? { dataDir: values.data } : {});
}

function describe(schedule: Schedule): string {
	return [
		`${schedule.id}${schedule.name ? ` (${schedule.name})` : ""} → ${schedule.target}${schedule.publish === "pull-request" ? " as pull requests" : ""} [${schedule.source}${schedule.runner === "hf-jobs" ? ", on Hugging Face Jobs" : ""}]`,
		schedule.cron === undefined
			? ""
			: `  cron ${schedule.cron} (${schedule.timezone ?? "UTC"}), next ${time(schedule.nextCronAt)}`,
		schedule.follow ? `  follows ${schedule.parents.join(", ")}` : "",
		schedule.pendingAt === undefined
			? ""
			: `  pending since ${time(schedule.pendingAt)}: ${schedule.pendingTriggers.join(", ")}`,
		`  last run: ${
			schedule.lastRun
				? `${time(schedule.lastRun.at)} ${schedule.lastRun.outcome}${schedule.lastRun.jobId ? ` (job ${schedule.lastRun.jobId})` : ""}${schedule.lastRun.detail ? `: ${schedule.lastRun.detail}` : ""}`
				: "none yet"
		}`,
	]
		.filter(Boolean)
		.join("\n");
}

/**
 * `mergesmith schedule`: merges kept current, in the same SQLite data folder as `mergesmith serve` (which runs them).
 * `add` checks the recipe and the trigger and stores the schedule; `run-now` checks it at once (with HF_TOKEN, here;
 * without, by marking it due for the bot). `run-job` is what a Hugging Face Job runs (docker/Dockerfile).
 */
export async function scheduleCommand(args: readonly string[], io: CliIo): Promise<number> {
	const [action, ...rest] = args;
	switch (action) {
		case "add":
			return add(rest, io);
		case "list":
			return list(rest, io);
		case "remove":
			return remove(rest, io);
		case "run-now":
			return await runNow(rest, io);
		case "run-job":
			return await runJob(io);
		default:
			io.stderr.write(USAGE);
			return EXIT.usage;
	}
}

async function add(args: readonly string[], io: CliIo): Promise<number> {
	const { values, positionals } = parseArgs({
		args: [...args],
		allowPositionals: true,
		options: {
			...STORE_OPTIONS,
			push: { type: "string" },
			cron: { type: "string" },
			tz: { type: "string" },
			follow: { type: "boolean" },
			pr: { type: "boolean" },
			private: { type: "boolean" },
			runner: { type: "string" },
			flavor: { type: "string" },
			timeout: { type: "string" },
			name: { type: "string" },
		},
	});
	const [file] = positionals;
	const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
	if (
		file === undefined ||
		positionals.length > 1 ||
		values.push === undefined ||
		(values.runner !== undefined && values.runner !== "local" && values.runner !== "hf-jobs") ||
		(timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0))
	) {
		io.stderr.write(USAGE);
		return EXIT.usage;
	}
	const config = settings(values);
	const recipe = await readRecipeText(file, io.stderr);
	if (recipe === undefined) {
		return EXIT.invalid;
	}
	const runner = values.runner === "hf-jobs" ? "hf-jobs" : "local";
	const hfJobs = {
		...(values.flavor === undefined ? {} : { flavor: values.flavor }),
		...(timeout === undefined ? {} : { timeoutSeconds: timeout }),
	};
	const defined = defineSchedule(
		{
			...(values.name === undefined ? {} : { name: values.name }),
			source: "cli",
			recipe,
			target: values.push,
			private: values.private === true,
			publish: values.pr ? "pull-request" : "commit",
			...(values.cron === undefined ? {} : { cron: values.cron }),
			...(values.tz === undefined ? {} : { timezone: values.tz }),
			follow: values.follow === true,
			runner,
			...(Object.keys(hfJobs).length > 0 ? { hfJobs } : {}),
			requester: { id: "operator", name: "operator" },
		},
		config,
	);
	if (!defined.ok) {
		for (const error of defined.errors) {
			io.stderr.write(`${file}: ${error}\n`);
		}
		return EXIT.invalid;
	}
	const store = new ScheduleStore(join(config.dataDir, "bot.db"));
	try {
		if (values.name !== undefined && store.list().some((schedule) => schedule.name === values.name)) {
			io.stderr.write(`mergesmith schedule: a schedule named ${values.name} exists already\n`);
			return EXIT.invalid;
		}
		const schedule = store.add(
			defined.definition,
			scheduleTimers(defined.definition, Date.now(), {
				timezone: config.timezone,
				pollMs: config.followPollSeconds * 1000,
				checkNow: true,
			}),
		);
		io.stdout.write(`added schedule ${schedule.id}\n${describe(schedule)}\n`);
		io.stdout.write(`\`mergesmith serve --data ${config.dataDir}\` runs it.\n`);
		return EXIT.ok;
	} finally {
		store.close();
	}
}

function list(args: readonly string[], io: CliIo): number {
	const { values } = parseArgs({ args: [...args], options: { ...STORE_OPTIONS, json: { type: "boolean" } } });
	const store = new ScheduleStore(join(settings(values).dataDir, "bot.db"));
	try {
		const schedules = store.list();
		if (values.json) {
			io.stdout.write(`${JSON.stringify(schedules, null, 2)}\n`);
		} else {
			io.stdout.write(schedules.length === 0 ? "no schedules\n" : `${schedules.map(describe).join("\n\n")}\n`);
		}
		return EXIT.ok;
	} finally {
		store.close();
	}
}

function remove(args: readonly string[], io: CliIo): number {
	const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: STORE_OPTIONS });
	const [id] = positionals;
	if (id === undefined || positionals.length > 1) {
		io.stderr.write(USAGE);
		return EXIT.usage;
	}
	const store = new ScheduleStore(join(settings(values).dataDir, "bot.db"));
	try {
		const schedule = store.get(id);
		if (schedule?.source === "config") {
			io.stderr.write(`mergesmith schedule: ${id} comes from the bot's config file; remove it there\n`);
			return EXIT.invalid;
		}
		if (!store.remove(id)) {
			io.stderr.write(`mergesmith schedule: no schedule ${id}\n`);
			return EXIT.invalid;
		}
		io.stdout.write(`removed schedule ${id}; what it published stays as it is\n`);
		return EXIT.ok;
	} finally {
		store.close();
	}
}

async function runNow(args: readonly string[], io: CliIo): Promise<number> {
	const { values, positionals } = parseArgs({
		args: [...args],
		allowPositionals: true,
		options: { ...STORE_OPTIONS, force: { type: "boolean" } },
	});
	const [id] = positionals;
	if (id === undefined || positionals.length > 1) {
		io.stderr.write(USAGE);
		return EXIT.usage;
	}
	const config = settings(values);
	const path = join(config.dataDir, "bot.db");
	const store = new ScheduleStore(path);
	const jobs = new JobStore(path);
	try {
		const before = store.get(id);
		if (!before) {
			io.stderr.write(`mergesmith schedule: no schedule ${id}\n`);
			return EXIT.invalid;
		}
		const token = io.env.HF_TOKEN;
		if (!token) {
			// No Hub access here: the bot, which has it, checks the schedule at its next tick.
			store.trigger(id, "run-now", { force: values.force === true });
			io.stdout.write(
				`schedule ${id} is due now; \`mergesmith serve\` checks it within seconds (set HF_TOKEN to check here)\n`,
			);
			return EXIT.ok;
		}
		const scheduler = new Scheduler({
			schedules: store,
			jobs,
			models: {
				cacheDir: join(config.dataDir, "hf-cache"),
				offline: false,
				hub: { accessToken: token, ...(io.env.HF_ENDPOINT ? { hubUrl: io.env.HF_ENDPOINT } : {}) },
			},
			log: pino({ level: "silent" }),
			notify: () => undefined,
			debounceMs: config.followDebounceSeconds * 1000,
			pollMs: config.followPollSeconds * 1000,
			timezone: config.timezone,
		});
		const run = await scheduler.runNow(id, { force: values.force === true });
		if (run === undefined || run.at === before.lastRun?.at) {
			io.stdout.write(
				`schedule ${id} is due; a job of it is queued or running, or the bot is checking it: it runs after that (see \`mergesmith schedule list\`)\n`,
			);
			return EXIT.ok;
		}
		if (run.outcome === "failed") {
			io.stderr.write(`schedule ${id}: the check failed: ${run.detail ?? "unknown error"}\n`);
			return EXIT.invalid;
		}
		io.stdout.write(
			run.outcome === "up-to-date"
				? `schedule ${id} is up to date: its inputs, recipe and merge arithmetic are those of its last publication; nothing to publish\n`
				: `schedule ${id}: queued job ${run.jobId} (${run.detail}); \`mergesmith serve\` runs it\n`,
		);
		return EXIT.ok;
	} finally {
		jobs.close();
		store.close();
	}
}

/** Inside a Hugging Face Job: the bot job from MERGESMITH_JOB, its progress printed as log lines for the bot. */
async function runJob(io: CliIo): Promise<number> {
	const encoded = io.env.MERGESMITH_JOB;
	if (!encoded) {
		io.stderr.write(
			"mergesmith schedule run-job: MERGESMITH_JOB is not set (it is set by the bot that submits the job)\n",
		);
		return EXIT.usage;
	}
	const job = JSON.parse(Buffer.from(encoded, "base64").toString("utf8")) as Job;
	let failed = false;
	const send = (progress: JobProgress): void => {
		failed ||= progress.type === "failed";
		io.stdout.write(`${PROGRESS_PREFIX}${JSON.stringify(progress)}\n`);
	};
	await runMergeJob(
		job,
		io.env.MERGESMITH_WORK_DIR ?? join(tmpdir(), "mergesmith-work"),
		{
			...(io.env.HF_ENDPOINT ? { hubUrl: io.env.HF_ENDPOINT } : {}),
			...(io.env.HF_TOKEN ? { accessToken: io.env.HF_TOKEN } : {}),
		},
		send,
	);
	return failed ? EXIT.failed : EXIT.ok;
}
