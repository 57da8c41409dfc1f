import pino from "pino";
import { describe, expect, it } from "vitest";
import type { BotHub } from "../../src/bot/bot-hub.js";
import type { JobProgress } from "../../src/bot/job-runner.js";
import { JobRunner } from "../../src/bot/job-runner.js";
import { type Job, JobStore } from "../../src/bot/job-store.js";
import { PROGRESS_PREFIX } from "../../src/schedule/parse-progress-line.js";
import { runOnHfJobs } from "../../src/schedule/run-on-hf-jobs.js";

// The Hugging Face Jobs runner against the protocol of spec hub-protocol.md §7, with an injected fetch standing in
// for the Hub: what is submitted (method, URL, headers, JSON body), and how status and logs become job progress.
const HUB = "https://hub.example";
const TOKEN = "hf_bot_token";

interface Recorded {
	method: string;
	url: string;
	headers: Headers;
	body: unknown;
}

const json = (body: unknown, status = 200): Response =>
	new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const apiJob = (stage: string, message?: string) => ({
	type: "job",
	id: "hfjob1",
	status: { stage, failureCount: 0, ...(message ? { message } : {}) },
	createdAt: "2026-03-01T03:00:00.000Z",
	flavor: "a10g-small",
});

/** A Hub whose job goes SCHEDULING → RUNNING → `final`, printing `logLines`; every request is recorded. */
function fakeHub(logLines: string[], final = "COMPLETED") {
	const requests: Recorded[] = [];
	let polls = 0;
	const fetchStub = (async (input: string | URL | Request, init?: RequestInit) => {
		const url = String(input);
		const method = init?.method ?? "GET";
		requests.push({
			method,
			url,
			headers: new Headers(init?.headers),
			body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
		});
		if (method === "POST" && url === `${HUB}/api/jobs/merge-bot`) {
			return json(apiJob("SCHEDULING"));
		}
		if (method === "POST" && url === `${HUB}/api/jobs/merge-bot/hfjob1/cancel`) {
			return json(apiJob("CANCELED"));
		}
		if (method === "GET" && url === `${HUB}/api/jobs/merge-bot/hfjob1`) {
			polls++;
			return json(apiJob(polls === 1 ? "RUNNING" : final, final === "ERROR" ? "Job timed out" : undefined));
		}
		if (method === "GET" && url === `${HUB}/api/jobs/merge-bot/hfjob1/logs`) {
			const events = logLines.map(
				(line) => `data: ${JSON.stringify({ data: line, timestamp: "2026-03-01T03:00:01.000Z" })}\n\n`,
			);
			return new Response(events.join(""), { headers: { "content-type": "text/event-stream" } });
		}
		return json({ error: `unexpected ${method} ${url}` }, 404);
	}) as typeof fetch;
	return { requests, fetch: fetchStub };
}

function scheduledJob(): Job {
	const store = new JobStore(":memory:");
	const job = store.createJob({
		repo: "tiny-models/nightly",
		discussion: undefined,
		requestCommentId: "schedule:abcd1234:1",
		requester: { id: "operator", name: "operator" },
		recipe: "merge_method: linear\nmodels:\n  - model: a/b\n  - model: c/d\n",
		recipeLineOffset: 0,
		outputRepo: "tiny-models/nightly",
		private: false,
		replyCommentId: undefined,
		schedule: {
			scheduleId: "abcd1234",
			triggers: ["cron"],
			previous: undefined,
			publish: "commit",
			runner: "hf-jobs",
		},
	});
	store.close();
	return job;
}

const progressLine = (progress: JobProgress): string => `${PROGRESS_PREFIX}${JSON.stringify(progress)}`;
const PUBLISHED_URL = `${HUB}/tiny-models/nightly`;
const published: JobProgress = {
	type: "published",
	url: PUBLISHED_URL,
	commit: "c".repeat(40),
	summary: "TIES · 39 tensors",
	record: { job: "j", request: "schedule abcd1234", inputs: { "a/b": "1".repeat(40) } },
};

async function collect(source: AsyncIterable<JobProgress>): Promise<JobProgress[]> {
	const all: JobProgress[] = [];
	for await (const progress of source) {
		all.push(progress);
	}
	return all;
}

describe("scheduled runs on Hugging Face Jobs", () => {
	it("submits the run as the spec's POST /api/jobs/{namespace} with image, command, secret token and a timeout", async () => {
		const job = scheduledJob();
		const hub = fakeHub([
			"npm notice: something unrelated",
			progressLine({ type: "phase", phase: "merging", method: "ties" }),
			progressLine({ type: "progress", tensorsDone: 39, tensorsTotal: 39 }),
			progressLine(published),
		]);
		const progress = await collect(
			runOnHfJobs(job, {
				hub: { hubUrl: HUB, accessToken: TOKEN, fetch: hub.fetch },
				image: "ghcr.io/mergesmith/mergesmith:0.1.0",
				flavor: "a10g-small",
				timeoutSeconds: 7200,
				namespace: "merge-bot",
				events: [],
				signal: new AbortController().signal,
				pollMs: 1,
			}),
		);

		const [submit] = hub.requests;
		expect(submit?.method).toBe("POST");
		expect(submit?.url).toBe(`${HUB}/api/jobs/merge-bot`);
		expect(submit?.headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
		expect(submit?.headers.get("content-type")).toBe("application/json");
		const body = submit?.body as { environment: Record<string, string> };
		expect(body).toEqual({
			flavor: "a10g-small",
			dockerImage: "ghcr.io/mergesmith/mergesmith:0.1.0",
			command: ["mergesmith", "schedule", "run-job"],
			environment: { MERGESMITH_JOB: expect.any(String), HF_ENDPOINT: HUB },
			secrets: { HF_TOKEN: TOKEN },
			timeoutSeconds: 7200,
			labels: { "mergesmith-job": job.id, "mergesmith-schedule": "abcd1234" },
		});
		// The token travels only as a secret, never in the plain environment; the job itself does.
		expect(JSON.stringify(body.environment)).not.toContain(TOKEN);
		expect(JSON.parse(Buffer.from(body.environment.MERGESMITH_JOB ?? "", "base64").toString())).toEqual(job);

		expect(hub.requests.slice(1).map((request) => `${request.method} ${request.url.slice(HUB.length)}`)).toEqual([
			"GET /api/jobs/merge-bot/hfjob1",
			"GET /api/jobs/merge-bot/hfjob1/logs",
		]);
		expect(hub.requests[2]?.headers.get("accept")).toBe("text/event-stream");
		expect(progress).toEqual([
			{ type: "submitted", runner: "hf-jobs", id: "hfjob1", url: `${HUB}/jobs/merge-bot/hfjob1` },
			{ type: "phase", phase: "merging", method: "ties" },
			{ type: "progress", tensorsDone: 39, tensorsTotal: 39 },
			published,
		]);
	});

	it("follows an earlier attempt's job instead of submitting again, and reports a job that ended without a result", async () => {
		const hub = fakeHub([progressLine({ type: "phase", phase: "preparing" })], "ERROR");
		const progress = await collect(
			runOnHfJobs(scheduledJob(), {
				hub: { hubUrl: HUB, accessToken: TOKEN, fetch: hub.fetch },
				image: "img",
				flavor: "cpu-upgrade",
				timeoutSeconds: 600,
				namespace: "merge-bot",
				events: [{ at: 0, type: "submitted", data: { type: "submitted", runner: "hf-jobs", id: "hfjob1", url: "" } }],
				signal: new AbortController().signal,
				pollMs: 1,
			}),
		);
		expect(hub.requests.some((request) => request.method === "POST")).toBe(false);
		expect(progress.at(-1)).toEqual({
			type: "failed",
			error: "the Hugging Face Job hfjob1 ended (ERROR: Job timed out) without a result",
			transient: false,
		});
	});

	it("cancels the Hugging Face Job when the bot job is cancelled", async () => {
		const hub = fakeHub([progressLine({ type: "phase", phase: "preparing" })]);
		const abort = new AbortController();
		const progress: JobProgress[] = [];
		for await (const next of runOnHfJobs(scheduledJob(), {
			hub: { hubUrl: HUB, accessToken: TOKEN, fetch: hub.fetch },
			image: "img",
			flavor: "cpu-upgrade",
			timeoutSeconds: 600,
			namespace: "merge-bot",
			events: [],
			signal: abort.signal,
			pollMs: 1,
		})) {
			progress.push(next);
			abort.abort();
		}
		expect(progress.map((next) => next.type)).toEqual(["submitted"]);
		expect(hub.requests.at(-1)).toMatchObject({ method: "POST", url: `${HUB}/api/jobs/merge-bot/hfjob1/cancel` });
		expect(hub.requests.at(-1)?.headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
	});

	it("leaves the Hugging Face Job running when the bot merely stops, and refuses to run without an image", async () => {
		const hub = fakeHub([progressLine({ type: "phase", phase: "preparing" })]);
		const abort = new AbortController();
		const options = {
			hub: { hubUrl: HUB, accessToken: TOKEN, fetch: hub.fetch },
			image: "img",
			flavor: "cpu-upgrade",
			timeoutSeconds: 600,
			namespace: "merge-bot",
			events: [],
			signal: abort.signal,
			cancelled: () => false,
			pollMs: 1,
		};
		for await (const next of runOnHfJobs(scheduledJob(), options)) {
			expect(next.type).toBe("submitted");
			abort.abort();
		}
		expect(hub.requests.map((request) => request.url)).not.toContain(`${HUB}/api/jobs/merge-bot/hfjob1/cancel`);
		expect(await collect(runOnHfJobs(scheduledJob(), { ...options, image: undefined }))).toEqual([
			{ type: "failed", error: expect.stringMatching(/needs `hfJobs.image`/), transient: false },
		]);
	});

	it("is run by the bot's job runner for runner: hf-jobs, which records the publication as for a local run", async () => {
		const store = new JobStore(":memory:");
		const job = store.createJob({ ...scheduledJob(), requestCommentId: "schedule:abcd1234:2" });
		const hub = fakeHub([progressLine(published)]);
		const untouchable: BotHub = {
			me: { id: "bot", name: "merge-bot" },
			commentAuthor: () => Promise.reject(new Error("unexpected")),
			postComment: () => Promise.reject(new Error("unexpected")),
			editComment: () => Promise.reject(new Error("unexpected")),
		};
		const runner = new JobRunner({
			store,
			hub: untouchable,
			log: pino({ level: "silent" }),
			workDir: "/nonexistent",
			env: {},
			execute: (queued, signal, events) =>
				queued.schedule?.runner === "hf-jobs"
					? runOnHfJobs(queued, {
							hub: { hubUrl: HUB, accessToken: TOKEN, fetch: hub.fetch },
							image: "img",
							flavor: "cpu-upgrade",
							timeoutSeconds: 600,
							namespace: "merge-bot",
							events,
							signal,
							pollMs: 1,
						})
					: undefined,
		});
		runner.start();
		for (let i = 0; i < 100 && store.getJob(job.id)?.state !== "succeeded"; i++) {
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		await runner.stop();
		const done = store.getJob(job.id);
		expect(done?.state).toBe("succeeded");
		expect(done?.result).toEqual({
			url: PUBLISHED_URL,
			commit: "c".repeat(40),
			record: expect.objectContaining({ inputs: { "a/b": "1".repeat(40) } }),
		});
		expect(store.events(job.id).map((event) => event.type)).toContain("submitted");
	});
});
