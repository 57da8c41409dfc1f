import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uploadFile } from "@huggingface/hub";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobStore } from "../../src/bot/job-store.js";
import { defaultHubSeed, seedHub } from "../../src/hub-server/seed-hub.js";
import { type RunningHubServer, startHubServer } from "../../src/hub-server/start-hub-server.js";
import { MERGE_MATH_VERSION } from "../../src/merge-math-version.js";
import { defineSchedule, type ScheduleInput } from "../../src/schedule/define-schedule.js";
import { ScheduleStore } from "../../src/schedule/schedule-store.js";
import { Scheduler } from "../../src/schedule/scheduler.js";

// The scheduler's decisions with a fake clock: cron times, missed runs, debounce and overlap. Checks resolve the
// models from the local Hub (metadata only); jobs are queued in the store and finished by hand, so nothing merges.
const BOT_TOKEN = "hf_mergebot_local_write";
const ALICE = "hf_alice_local_write";
const RECIPE = `merge_method: ties
base_model: tiny-models/tiny-llama
models:
  - model: tiny-models/tiny-llama-instruct
    parameters: {density: 0.5, weight: 0.6}
  - model: tiny-models/tiny-llama-math
    parameters: {density: 0.5, weight: 0.4}
dtype: float32
`;

let dir: string;
let hub: RunningHubServer;
let clock = Date.parse("2026-03-01T02:58:00Z");
const now = (): number => clock;

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-scheduler-"));
	hub = await startHubServer({ dataDir: join(dir, "hub") });
	await seedHub(hub.store, defaultHubSeed());
});
afterAll(async () => {
	await hub.close();
	await rm(dir, { recursive: true, force: true });
});

function setup() {
	const path = join(dir, `${Math.random().toString(36).slice(2)}.db`);
	const schedules = new ScheduleStore(path, { now });
	const jobs = new JobStore(path, { now });
	const scheduler = new Scheduler({
		schedules,
		jobs,
		models: { cacheDir: join(dir, "cache"), offline: false, hub: { hubUrl: hub.url, accessToken: BOT_TOKEN } },
		log: pino({ level: "silent" }),
		notify: () => undefined,
		debounceMs: 60_000,
		pollMs: 3_600_000,
		timezone: "UTC",
		now,
	});
	return { schedules, jobs, scheduler, path };
}

function define(input: Partial<ScheduleInput> & { target: string }) {
	const defined = defineSchedule(
		{
			source: "cli",
			recipe: { text: RECIPE, lineOffset: 0 },
			requester: { id: "operator", name: "operator" },
			...input,
		},
		{ timezone: "UTC" },
	);
	if (!defined.ok) {
		throw new Error(defined.errors.join(" "));
	}
	return defined.definition;
}

/** Finishes a schedule's queued job as the runner would after publishing, with the record of what it read. */
function publish(jobs: JobStore, jobId: string, inputs: Record<string, string>, recipeSha256: string): void {
	const claimed = jobs.claimNextJob("test", 60_000);
	expect(claimed?.id).toBe(jobId);
	jobs.finish(jobId, "test", {
		state: "succeeded",
		result: {
			url: "x",
			commit: "y",
			record: { job: jobId, request: "", inputs, recipeSha256, mathVersion: MERGE_MATH_VERSION },
		},
	});
}

async function headOf(repo: string): Promise<string> {
	const response = await fetch(`${hub.url}/api/models/${repo}/revision/main`, {
		headers: { authorization: `Bearer ${BOT_TOKEN}` },
	});
	return ((await response.json()) as { sha: string }).sha;
}

describe("the scheduler", () => {
	it("fires a cron schedule at its time (fake clock, with timezone), once, and then at the next time", async () => {
		clock = Date.parse("2026-03-01T02:58:00Z");
		const { schedules, jobs, scheduler } = setup();
		const schedule = scheduler.add(define({ target: "tiny-models/cron-merge", cron: "0 3 * * *" }));
		expect(schedule.nextCronAt).toBe(Date.parse("2026-03-01T03:00:00Z"));
		const paris = scheduler.add(
			define({ target: "tiny-models/cron-paris", cron: "0 3 * * *", timezone: "Europe/Paris" }),
		);
		// 03:00 in Paris is 02:00 UTC in winter: passed already at 02:58 UTC, so the next is tomorrow.
		expect(paris.nextCronAt).toBe(Date.parse("2026-03-02T02:00:00Z"));
		schedules.remove(paris.id);

		await scheduler.tick();
		expect(jobs.jobsOfSchedule(schedule.id)).toHaveLength(0);
		expect(schedules.get(schedule.id)?.lastRun).toBeUndefined();

		clock = Date.parse("2026-03-01T03:00:30Z");
		await scheduler.tick();
		await scheduler.tick();
		const [job, ...more] = jobs.jobsOfSchedule(schedule.id);
		expect(more).toHaveLength(0);
		expect(job?.state).toBe("queued");
		expect(job?.outputRepo).toBe("tiny-models/cron-merge");
		expect(job?.discussion).toBeUndefined();
		expect(job?.schedule).toMatchObject({ scheduleId: schedule.id, triggers: ["cron"] });
		expect(job?.schedule?.previous).toBeUndefined();
		const after = schedules.get(schedule.id);
		expect(after?.lastRun).toMatchObject({ outcome: "queued", triggers: ["cron"], jobId: job?.id });
		expect(after?.nextCronAt).toBe(Date.parse("2026-03-02T03:00:00Z"));
	});

	it("runs a cron time missed while the bot was down once at start-up, and records 'up to date' when nothing changed", async () => {
		clock = Date.parse("2026-03-01T10:10:00Z");
		const { schedules, jobs, scheduler, path } = setup();
		const schedule = scheduler.add(define({ target: "tiny-models/hourly-merge", cron: "0 * * * *" }));
		clock = Date.parse("2026-03-01T11:00:05Z");
		await scheduler.tick();
		const [first] = jobs.jobsOfSchedule(schedule.id);
		const inputs = {
			"tiny-models/tiny-llama-instruct": await headOf("tiny-models/tiny-llama-instruct"),
			"tiny-models/tiny-llama-math": await headOf("tiny-models/tiny-llama-math"),
			"tiny-models/tiny-llama": await headOf("tiny-models/tiny-llama"),
		};
		const { createHash } = await import("node:crypto");
		publish(jobs, first?.id ?? "", inputs, createHash("sha256").update(RECIPE).digest("hex"));

		// Down from 11:00 to 16:30: five hourly times missed. A new scheduler (a restart) over the same database.
		await scheduler.stop();
		clock = Date.parse("2026-03-01T16:30:00Z");
		const restarted = new Scheduler({
			schedules: new ScheduleStore(path, { now }),
			jobs: new JobStore(path, { now }),
			models: { cacheDir: join(dir, "cache"), offline: false, hub: { hubUrl: hub.url, accessToken: BOT_TOKEN } },
			log: pino({ level: "silent" }),
			notify: () => undefined,
			debounceMs: 60_000,
			pollMs: 3_600_000,
			timezone: "UTC",
			tickMs: 600_000,
			now,
		});
		restarted.start();
		await restarted.tick();
		await restarted.stop();
		const runs = schedules.runs(schedule.id);
		expect(runs.map((run) => run.outcome)).toEqual(["up-to-date", "queued"]);
		expect(runs[0]?.triggers).toEqual(["cron"]);
		expect(jobs.jobsOfSchedule(schedule.id)).toHaveLength(1);
		expect(schedules.get(schedule.id)?.nextCronAt).toBe(Date.parse("2026-03-01T17:00:00Z"));
	});

	it("coalesces parent changes within the debounce window into one run, and never overlaps a running job", async () => {
		clock = Date.parse("2026-03-02T08:00:00Z");
		const { schedules, jobs, scheduler } = setup();
		const schedule = scheduler.add(define({ target: "tiny-models/followed-merge", follow: true }), { checked: true });
		expect(schedule.parents).toEqual([
			"tiny-models/tiny-llama-instruct",
			"tiny-models/tiny-llama-math",
			"tiny-models/tiny-llama",
		]);

		// A new pull request ref and an unrelated repo move no parent.
		expect(
			scheduler.parentChanged("tiny-models/tiny-llama-math", [{ ref: "refs/pr/3", newSha: "a".repeat(40) }]),
		).toEqual([]);
		expect(
			scheduler.parentChanged("tiny-models/tiny-qwen2", [{ ref: "refs/heads/main", newSha: "a".repeat(40) }]),
		).toEqual([]);

		const main = (sha: string) => [{ ref: "refs/heads/main", newSha: sha }];
		expect(scheduler.parentChanged("tiny-models/tiny-llama-math", main("b".repeat(40)))).toEqual([schedule.id]);
		clock += 20_000;
		scheduler.parentChanged("tiny-models/tiny-llama-instruct", main("c".repeat(40)));
		clock += 50_000; // 70 s after the first change, 50 s after the second: still within the window
		await scheduler.tick();
		expect(jobs.jobsOfSchedule(schedule.id)).toHaveLength(0);
		clock += 15_000;
		await scheduler.tick();
		const queued = jobs.jobsOfSchedule(schedule.id);
		expect(queued).toHaveLength(1);
		expect(queued[0]?.schedule?.triggers).toEqual([
			"parent tiny-models/tiny-llama-math",
			"parent tiny-models/tiny-llama-instruct",
		]);

		// While that job is queued (or running), a new change and a forced run wait for it instead of queuing another.
		scheduler.parentChanged("tiny-models/tiny-llama-math", main("d".repeat(40)));
		clock += 120_000;
		await scheduler.runNow(schedule.id, { force: true });
		await scheduler.tick();
		expect(jobs.jobsOfSchedule(schedule.id)).toHaveLength(1);
		expect(schedules.get(schedule.id)?.pendingTriggers).toEqual(["parent tiny-models/tiny-llama-math", "run-now"]);

		const claimed = jobs.claimNextJob("test", 60_000);
		jobs.finish(claimed?.id ?? "", "test", { state: "failed", error: "stopped by the test" });
		await scheduler.tick();
		expect(jobs.jobsOfSchedule(schedule.id)).toHaveLength(2);
		expect(schedules.get(schedule.id)?.pendingAt).toBeUndefined();
	});

	it("re-merges a followed schedule when a parent's commit moves its resolved revision", async () => {
		clock = Date.now();
		const { jobs, scheduler } = setup();
		const schedule = scheduler.add(define({ target: "tiny-models/followed-poll", follow: true }), { checked: true });
		const before = await headOf("tiny-models/tiny-llama-instruct");
		const { createHash } = await import("node:crypto");
		scheduler.parentChanged("tiny-models/tiny-llama-instruct", undefined);
		clock += 61_000;
		await scheduler.tick();
		const [first] = jobs.jobsOfSchedule(schedule.id);
		publish(
			jobs,
			first?.id ?? "",
			{
				"tiny-models/tiny-llama-instruct": before,
				"tiny-models/tiny-llama-math": await headOf("tiny-models/tiny-llama-math"),
				"tiny-models/tiny-llama": await headOf("tiny-models/tiny-llama"),
			},
			createHash("sha256").update(RECIPE).digest("hex"),
		);
		await uploadFile({
			repo: { type: "model", name: "tiny-models/tiny-llama-instruct" },
			file: { path: "NOTES.md", content: new Blob(["a new commit\n"]) },
			hubUrl: hub.url,
			accessToken: ALICE,
		});
		const after = await headOf("tiny-models/tiny-llama-instruct");
		// The bot missed the webhook: the poll finds the change.
		clock += 3_600_000;
		await scheduler.tick();
		const second = jobs.jobsOfSchedule(schedule.id)[1];
		expect(second?.schedule?.triggers).toEqual(["poll"]);
		expect(second?.schedule?.previous?.inputs["tiny-models/tiny-llama-instruct"]).toBe(before);
		expect(after).not.toBe(before);
	});
});
