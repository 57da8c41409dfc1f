import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CommitData, downloadFile, listCommits, uploadFile } from "@huggingface/hub";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBotConfig } from "../../src/bot/bot-config.js";
import type { Job } from "../../src/bot/job-store.js";
import type { JobRecord } from "../../src/bot/read-job-record.js";
import { type RunningBot, startBot } from "../../src/bot/start-bot.js";
import { createDiscussion } from "../../src/hub/create-discussion.js";
import { createWebhook } from "../../src/hub/create-webhook.js";
import type { DiscussionCommentEvent } from "../../src/hub/discussion-types.js";
import { getDiscussion } from "../../src/hub/get-discussion.js";
import { listDiscussions } from "../../src/hub/list-discussions.js";
import { defaultHubSeed, seedHub } from "../../src/hub-server/seed-hub.js";
import { type RunningHubServer, startHubServer } from "../../src/hub-server/start-hub-server.js";
import { runMain } from "../helpers/run-main.js";

// Followed merges through the whole loop: a schedule added with the CLI in the bot's data folder, parents' commits
// arriving as real repo.content webhooks from the local Hub, merges in child processes from the built code (npm test
// builds first), publications to the local Hub.
const BOT_TOKEN = "hf_mergebot_local_write";
const ALICE = "hf_alice_local_write";
const SECRET = "schedule-e2e-secret";
const TARGET = "tiny-models/followed-merge";
const DEBOUNCE_SECONDS = 1.5;

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
let bot: RunningBot;
let scheduleId: string;

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 40_000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value !== undefined) {
			return value;
		}
		if (Date.now() > deadline) {
			throw new Error(`timed out waiting for ${what}`);
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function commits(repo: string): Promise<CommitData[]> {
	const all: CommitData[] = [];
	for await (const commit of listCommits({
		repo: { type: "model", name: repo },
		hubUrl: hub.url,
		accessToken: ALICE,
	})) {
		all.push(commit);
	}
	return all;
}

async function listPullRequests(repo: string): Promise<string[]> {
	const titles: string[] = [];
	for await (const discussion of listDiscussions({ hubUrl: hub.url, accessToken: ALICE, repo, type: "pull_request" })) {
		titles.push(discussion.title);
	}
	return titles;
}

async function head(repo: string): Promise<string> {
	return (await commits(repo))[0]?.oid ?? "";
}

async function text(repo: string, path: string): Promise<string> {
	const blob = await downloadFile({ repo: { type: "model", name: repo }, path, hubUrl: hub.url, accessToken: ALICE });
	return (await blob?.text()) ?? "";
}

/** A new commit on a parent, as its author pushes one (a card edit moves the revision as a weights update would). */
async function commitTo(repo: string, note: string): Promise<string> {
	await uploadFile({
		repo: { type: "model", name: repo },
		file: { path: "NOTES.md", content: new Blob([`${note}\n`]) },
		hubUrl: hub.url,
		accessToken: ALICE,
	});
	return head(repo);
}

const scheduleJobs = (): Job[] => bot.store.jobsOfSchedule(scheduleId);

function finishedJobs(count: number) {
	return (): Job[] | undefined => {
		const jobs = scheduleJobs();
		return jobs.length >= count && jobs.every((job) => job.state !== "queued" && job.state !== "running")
			? jobs
			: undefined;
	};
}

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-schedule-e2e-"));
	hub = await startHubServer({ dataDir: join(dir, "hub"), webhooks: { retryDelayMs: 50 } });
	await seedHub(hub.store, defaultHubSeed());
	bot = await startBot({
		config: loadBotConfig(undefined, {
			dataDir: join(dir, "bot"),
			trustedUsers: ["alice"],
			followDebounceSeconds: DEBOUNCE_SECONDS,
		}),
		hub: { accessToken: BOT_TOKEN, hubUrl: hub.url },
		secret: SECRET,
		log: pino({ level: "silent" }),
		progressEditMs: 0,
		scheduleTickMs: 100,
	});
	await createWebhook({
		hubUrl: hub.url,
		accessToken: BOT_TOKEN,
		url: `${bot.url}/webhooks/hub`,
		watched: [{ type: "org", name: "tiny-models" }],
		domains: ["repo", "discussion"],
		secret: SECRET,
	});
});
afterAll(async () => {
	await bot?.close({ abortRunning: true });
	await hub?.close();
	await rm(dir, { recursive: true, force: true });
});

describe("a merge that follows its parents, through the local Hub", () => {
	it("is added with the CLI and published once, with its inputs in the job record", async () => {
		const recipeFile = join(dir, "recipe.yml");
		await writeFile(recipeFile, RECIPE);
		const added = await runMain([
			"schedule",
			"add",
			recipeFile,
			"--push",
			TARGET,
			"--follow",
			"--data",
			join(dir, "bot"),
		]);
		expect(added.code, added.stderr).toBe(0);
		scheduleId = /added schedule ([0-9a-f]+)/.exec(added.stdout)?.[1] ?? "";
		expect(added.stdout).toContain(
			"follows tiny-models/tiny-llama-instruct, tiny-models/tiny-llama-math, tiny-models/tiny-llama",
		);

		const [job] = await until("the first publication", finishedJobs(1));
		expect(job?.state, job?.error).toBe("succeeded");
		const record = JSON.parse(await text(TARGET, "mergesmith-job.json")) as JobRecord;
		expect(record).toMatchObject({ job: job?.id, schedule: scheduleId });
		expect(record.inputs?.["tiny-models/tiny-llama-math"]).toBe(await head("tiny-models/tiny-llama-math"));
		expect((await commits(TARGET))[0]?.title).toMatch(/^Scheduled merge: first publication \[job [0-9a-f]{8}\]$/);
	});

	it("is re-published exactly once after a parent's new commit, with the changelog in the commit and the card", async () => {
		const before = await head("tiny-models/tiny-llama-math");
		const publications = (await commits(TARGET)).length;
		const after = await commitTo("tiny-models/tiny-llama-math", "math fine-tune, second round");

		const jobs = await until("the re-merge", finishedJobs(2));
		expect(jobs[1]?.state, jobs[1]?.error).toBe("succeeded");
		expect(jobs[1]?.schedule?.triggers).toEqual(["parent tiny-models/tiny-llama-math"]);
		// Quiet for several debounce windows: nothing more is published.
		await sleep(DEBOUNCE_SECONDS * 2000 + 500);
		expect(scheduleJobs()).toHaveLength(2);
		const history = await commits(TARGET);
		expect(history).toHaveLength(publications + 1);
		const latest = history[0];
		expect(latest?.title).toMatch(/^Re-merge: tiny-models\/tiny-llama-math updated \[job [0-9a-f]{8}\]$/);
		const line = `tiny-models/tiny-llama-math: ${before.slice(0, 12)} → ${after.slice(0, 12)}`;
		expect(latest?.message).toContain(`- ${line}`);

		const card = await text(TARGET, "README.md");
		expect(card).toContain("## Changelog");
		expect(card).toContain(`- \`tiny-models/tiny-llama-math\`: \`${before.slice(0, 12)}\` → \`${after.slice(0, 12)}\``);
		expect(card).toContain("first publication");
		const record = JSON.parse(await text(TARGET, "mergesmith-job.json")) as JobRecord;
		expect(record.inputs?.["tiny-models/tiny-llama-math"]).toBe(after);
		expect(record.changelog?.map((entry) => entry.job)).toEqual([jobs[1]?.id, jobs[0]?.id]);
	});

	it("is not re-published when nothing changed, nor for a pull request's ref on a parent", async () => {
		const publications = (await commits(TARGET)).length;
		const checked = await runMain(["schedule", "run-now", scheduleId, "--data", join(dir, "bot")], {
			HF_TOKEN: BOT_TOKEN,
			HF_ENDPOINT: hub.url,
		});
		expect(checked.code, checked.stderr).toBe(0);
		expect(checked.stdout).toMatch(/is up to date/);
		await uploadFile({
			repo: { type: "model", name: "tiny-models/tiny-llama-math" },
			file: { path: "NOTES.md", content: new Blob(["a proposal\n"]) },
			hubUrl: hub.url,
			accessToken: ALICE,
			isPullRequest: true,
		});
		await sleep(DEBOUNCE_SECONDS * 1000 + 800);
		expect(scheduleJobs()).toHaveLength(2);
		expect(await commits(TARGET)).toHaveLength(publications);
		const listed = await runMain(["schedule", "list", "--data", join(dir, "bot")]);
		expect(listed.stdout).toMatch(/last run: .* up-to-date/);
	});

	it("coalesces two quick commits on two parents into one re-merge", async () => {
		const publications = (await commits(TARGET)).length;
		const instruct = await head("tiny-models/tiny-llama-instruct");
		const math = await head("tiny-models/tiny-llama-math");
		const newInstruct = await commitTo("tiny-models/tiny-llama-instruct", "instruct, third round");
		const newMath = await commitTo("tiny-models/tiny-llama-math", "math, third round");

		const jobs = await until("the coalesced re-merge", finishedJobs(3));
		expect(jobs[2]?.state, jobs[2]?.error).toBe("succeeded");
		await sleep(DEBOUNCE_SECONDS * 2000 + 500);
		expect(scheduleJobs()).toHaveLength(3);
		const history = await commits(TARGET);
		expect(history).toHaveLength(publications + 1);
		expect(history[0]?.message).toContain(
			`- tiny-models/tiny-llama-instruct: ${instruct.slice(0, 12)} → ${newInstruct.slice(0, 12)}`,
		);
		expect(history[0]?.message).toContain(
			`- tiny-models/tiny-llama-math: ${math.slice(0, 12)} → ${newMath.slice(0, 12)}`,
		);
	});

	it("opens a pull request for each re-merge when the schedule says so, and a forced run says why it ran", async () => {
		const recipeFile = join(dir, "recipe.yml");
		const data = join(dir, "bot");
		const added = await runMain([
			"schedule",
			"add",
			recipeFile,
			"--push",
			"tiny-models/pr-merge",
			"--follow",
			"--pr",
			"--data",
			data,
		]);
		const id = /added schedule ([0-9a-f]+)/.exec(added.stdout)?.[1] ?? "";
		const firstJobs = await until("the first publication", () => {
			const jobs = bot.store.jobsOfSchedule(id);
			return jobs[0]?.state === "succeeded" ? jobs : undefined;
		});
		expect(firstJobs).toHaveLength(1);
		const onMain = (await commits("tiny-models/pr-merge")).length;
		const forced = await runMain(["schedule", "run-now", id, "--force", "--data", data], {
			HF_TOKEN: BOT_TOKEN,
			HF_ENDPOINT: hub.url,
		});
		expect(forced.stdout).toMatch(/queued job/);
		const [, second] = await until("the forced re-merge", () => {
			const jobs = bot.store.jobsOfSchedule(id);
			return jobs.length === 2 && jobs[1]?.state !== "queued" && jobs[1]?.state !== "running" ? jobs : undefined;
		});
		expect(second?.state, second?.error).toBe("succeeded");
		expect(second?.result).toMatchObject({ url: expect.stringMatching(/\/tiny-models\/pr-merge\/discussions\/\d+$/) });
		expect(await commits("tiny-models/pr-merge")).toHaveLength(onMain);
		const pulls = await listPullRequests("tiny-models/pr-merge");
		expect(pulls).toEqual([
			expect.stringMatching(/^Re-merge: merged again on request; no input had changed \[job [0-9a-f]{8}\]$/),
		]);
		expect((await runMain(["schedule", "remove", id, "--data", data])).code).toBe(0);
	});

	it("takes /merge --follow and /schedule in a thread, and announces the thread's re-merge there", async () => {
		expect((await runMain(["schedule", "remove", scheduleId, "--data", join(dir, "bot")])).code).toBe(0);
		const { num } = await createDiscussion({
			hubUrl: hub.url,
			accessToken: ALICE,
			repo: "tiny-models/tiny-llama",
			title: "keep this merge current",
			description: `/merge tiny-models/thread-followed --follow\n\n\`\`\`yaml\n${RECIPE}\`\`\``,
		});
		const inThread = () => bot.store.jobsInThread("tiny-models/tiny-llama", num);
		const [first] = await until("the thread's merge", () =>
			inThread().some((job) => job.state === "succeeded") ? inThread() : undefined,
		);
		expect(first?.schedule?.scheduleId).toBeDefined();
		await commitTo("tiny-models/tiny-llama", "base fix");
		const [, second] = await until("the thread's re-merge", () =>
			inThread().length === 2 && inThread()[1]?.state === "succeeded" ? inThread() : undefined,
		);
		expect(second?.schedule?.scheduleId).toBe(first?.schedule?.scheduleId);
		const comments = async () =>
			(await getDiscussion({ hubUrl: hub.url, accessToken: ALICE, repo: "tiny-models/tiny-llama", num })).events
				.filter(
					(event): event is DiscussionCommentEvent => event.type === "comment" && event.author?.name === "merge-bot",
				)
				.map((event) => event.data.latest.raw);
		const answers = await until("the re-merge's answer", async () => {
			const all = await comments();
			return all.length === 2 && all[1]?.includes("✅ Done") ? all : undefined;
		});
		expect(answers[0]).toContain("This merge follows its parents");
		expect(answers[1]).toMatch(/tiny-models\/tiny-llama`: `[0-9a-f]{12}` → `[0-9a-f]{12}`/);

		await createDiscussion({
			hubUrl: hub.url,
			accessToken: ALICE,
			repo: "tiny-models/tiny-llama",
			title: "nightly",
			description: `/schedule "0 3 * * *" tiny-models/nightly --tz Europe/Paris\n\n\`\`\`yaml\n${RECIPE}\`\`\``,
		});
		const nightly = await until("the nightly schedule", () =>
			bot.schedules.store.list().find((schedule) => schedule.target === "tiny-models/nightly"),
		);
		expect(nightly).toMatchObject({ cron: "0 3 * * *", timezone: "Europe/Paris", follow: false, source: "thread" });
		expect(bot.store.jobsOfSchedule(nightly.id)).toHaveLength(0);
	});
});
