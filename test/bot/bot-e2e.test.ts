import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { downloadFile, listFiles } from "@huggingface/hub";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBotConfig } from "../../src/bot/bot-config.js";
import type { Job } from "../../src/bot/job-store.js";
import { type RunningBot, startBot } from "../../src/bot/start-bot.js";
import { commentDiscussion } from "../../src/hub/comment-discussion.js";
import { createDiscussion } from "../../src/hub/create-discussion.js";
import { createWebhook } from "../../src/hub/create-webhook.js";
import type { DiscussionCommentEvent } from "../../src/hub/discussion-types.js";
import { getDiscussion } from "../../src/hub/get-discussion.js";
import { defaultHubSeed, seedHub } from "../../src/hub-server/seed-hub.js";
import { type RunningHubServer, startHubServer } from "../../src/hub-server/start-hub-server.js";
import { SafetensorsFile } from "../../src/safetensors/safetensors-file.js";

// The whole loop through the local Hub: real v3 webhooks, real discussion API, real uploads. Merges run in child
// processes from the built code (npm test builds first).
const BOT_TOKEN = "hf_mergebot_local_write";
const ALICE = "hf_alice_local_write";
const BOB = "hf_bob_local_write";
const SECRET = "e2e-secret";

let dir: string;
let hub: RunningHubServer;
let bot: RunningBot | undefined;

const recipe = (extra = "") => `merge_method: ties
base_model: tiny-models/tiny-llama
models:
  - model: tiny-models/tiny-llama-instruct
    parameters: {density: 0.5, weight: 0.6}
  - model: tiny-models/tiny-llama-math${extra}
    parameters: {density: 0.5, weight: 0.4}
dtype: float32
`;

async function launchBot(options: { allowedUsers?: string[]; leaseMs?: number } = {}): Promise<RunningBot> {
	const running = await startBot({
		config: loadBotConfig(undefined, {
			dataDir: join(dir, "bot"),
			allowedUsers: options.allowedUsers ?? "*",
			trustedUsers: ["alice"],
		}),
		hub: { accessToken: BOT_TOKEN, hubUrl: hub.url },
		secret: SECRET,
		log: pino({ level: "silent" }),
		progressEditMs: 0,
		leaseMs: options.leaseMs ?? 60_000,
	});
	await createWebhook({
		hubUrl: hub.url,
		accessToken: BOT_TOKEN,
		url: `${running.url}/webhooks/hub`,
		watched: [{ type: "org", name: "tiny-models" }],
		domains: ["discussion"],
		secret: SECRET,
	});
	return running;
}

async function until<T>(
	what: string,
	check: () => Promise<T | undefined> | T | undefined,
	timeoutMs = 30_000,
): Promise<T> {
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

async function botComments(num: number): Promise<string[]> {
	const details = await getDiscussion({ hubUrl: hub.url, accessToken: ALICE, repo: "tiny-models/tiny-llama", num });
	return details.events
		.filter((event): event is DiscussionCommentEvent => event.type === "comment" && event.author?.name === "merge-bot")
		.map((event) => event.data.latest.raw);
}

async function ask(token: string, body: string): Promise<number> {
	const created = await createDiscussion({
		hubUrl: hub.url,
		accessToken: token,
		repo: "tiny-models/tiny-llama",
		title: "merge please",
		description: body,
	});
	return created.num;
}

const finished = (store: RunningBot["store"], num: number) => (): Job | undefined =>
	store.jobsInThread("tiny-models/tiny-llama", num).find((job) => job.state === "succeeded" || job.state === "failed");

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-bot-e2e-"));
	hub = await startHubServer({ dataDir: join(dir, "hub"), webhooks: { retryDelayMs: 50 } });
	await seedHub(hub.store, defaultHubSeed());
});
afterAll(async () => {
	await bot?.close({ abortRunning: true });
	await hub.close();
	await rm(dir, { recursive: true, force: true });
});

describe("the merge bot through the local Hub", () => {
	it("answers a valid /merge request, publishes the merge, and edits one reply to the final link", async () => {
		bot = await launchBot();
		const num = await ask(ALICE, `/merge tiny-models/e2e-merge\n\n\`\`\`yaml\n${recipe()}\`\`\``);
		const job = await until("the job to finish", finished(bot.store, num));
		expect(job.state, job.error).toBe("succeeded");
		const replies = await until("the final answer", async () => {
			const comments = await botComments(num);
			return comments.some((c) => c.includes("✅ Done")) ? comments : undefined;
		});
		expect(replies).toHaveLength(1);
		expect(replies[0]).toMatch(/\[tiny-models\/e2e-merge\]\(http:\/\/127\.0\.0\.1:\d+\/tiny-models\/e2e-merge\)/);
		expect(replies[0]).toMatch(/\| `tiny-models\/tiny-llama` \| base \| `[0-9a-f]{12}` \|/);
		expect(replies[0]).toMatch(
			/\*\*What the merge did:\*\* .*charts: \[.*\]\(http:\/\/127\.0\.0\.1:\d+\/tiny-models\/e2e-merge\/blob\/main\/charts\/[\w-]+\.svg\)/,
		);

		const repo = { type: "model" as const, name: "tiny-models/e2e-merge" };
		const files: string[] = [];
		for await (const entry of listFiles({ repo, hubUrl: hub.url, accessToken: ALICE })) {
			files.push(entry.path);
		}
		expect(files).toEqual(
			expect.arrayContaining([
				"model.safetensors",
				"config.json",
				"mergekit_config.yml",
				"README.md",
				"mergesmith-job.json",
			]),
		);
		const card = await (await downloadFile({ repo, path: "README.md", hubUrl: hub.url, accessToken: ALICE }))?.text();
		expect(card).toContain("base_model_relation: merge");
		expect(card).toContain("tiny-models/tiny-llama-instruct");
		const weights = await downloadFile({ repo, path: "model.safetensors", hubUrl: hub.url, accessToken: ALICE });
		const path = join(dir, "downloaded.safetensors");
		await import("node:fs/promises").then((fs) =>
			weights?.arrayBuffer().then((buffer) => fs.writeFile(path, Buffer.from(buffer))),
		);
		const file = await SafetensorsFile.open(path);
		expect(file.tensors.size).toBe(39);
		await file.close();
	});

	it("answers an invalid recipe with its line-numbered error and queues nothing", async () => {
		const running = bot ?? (await launchBot());
		const num = await ask(
			ALICE,
			`Here goes:\n/merge\n\n\`\`\`yaml\nmerge_method: ties\nbase_model: tiny-models/tiny-llama\nmodels:\n  - model: tiny-models/tiny-llama-instruct\n    parameters: {density: 53, weight: 1}\n\`\`\``,
		);
		const [answer] = await until("the answer", async () => {
			const comments = await botComments(num);
			return comments.length > 0 ? comments : undefined;
		});
		expect(answer).toMatch(/\*\*line 9\*\*: `density: 53` at line 9 is out of range/);
		expect(running.store.jobsInThread("tiny-models/tiny-llama", num)).toHaveLength(0);
	});

	it("answers /validate with the preflight: revisions, licences, sizes and what the recipe will do", async () => {
		const running = bot ?? (await launchBot());
		const num = await ask(ALICE, `/validate\n\`\`\`yaml\n${recipe()}\`\`\``);
		const [answer] = await until("the answer", async () => {
			const comments = await botComments(num);
			return comments.length > 0 ? comments : undefined;
		});
		expect(answer).toMatch(/✅ The recipe is valid/);
		expect(answer).toMatch(/\| `tiny-models\/tiny-llama-math` \| merged \| `[0-9a-f]{12}` \| apache-2.0 \|/);
		expect(answer).toMatch(/\d+ tensors · .* to download · .* to write · peak memory about/);
		expect(answer).toMatch(/<details>[\s\S]*base[\s\S]*<\/details>/);
		expect(running.store.jobsInThread("tiny-models/tiny-llama", num)).toHaveLength(0);
	});

	it("never answers a replayed delivery twice, nor its own comments", async () => {
		const running = bot ?? (await launchBot());
		const num = await ask(ALICE, "/help");
		await until("the help answer", async () => ((await botComments(num)).length > 0 ? true : undefined));
		const delivery = hub.webhooks
			.deliveries()
			.find((d) => d.payload.discussion?.num === num && d.payload.event.scope === "discussion" && d.payload.comment);
		expect(delivery).toBeDefined();
		hub.webhooks.replay(delivery?.id ?? "");
		await commentDiscussion({
			hubUrl: hub.url,
			accessToken: ALICE,
			repo: "tiny-models/tiny-llama",
			num,
			comment: "thanks!",
		});
		await new Promise((resolve) => setTimeout(resolve, 500));
		await running.idle();
		expect(await botComments(num)).toHaveLength(1);
	});

	it("tells a user who is not allowed, and refuses a private input for an untrusted user", async () => {
		await bot?.close();
		bot = await launchBot({ allowedUsers: ["alice"] });
		const num = await ask(BOB, `/merge\n\`\`\`yaml\n${recipe()}\`\`\``);
		const [answer] = await until("the refusal", async () => {
			const comments = await botComments(num);
			return comments.length > 0 ? comments : undefined;
		});
		expect(answer).toMatch(/Sorry @bob/);
		await bot.close();
		bot = await launchBot();
		const gated = await ask(
			BOB,
			`/merge\n\`\`\`yaml\n${recipe().replace("tiny-llama-math", "tiny-llama-gated")}\`\`\``,
		);
		const [refusal] = await until("the refusal", async () => {
			const comments = await botComments(gated);
			return comments.length > 0 ? comments : undefined;
		});
		expect(refusal).toMatch(/tiny-models\/tiny-llama-gated is gated.*only for trusted accounts/s);
		expect(bot.store.jobsInThread("tiny-models/tiny-llama", gated)).toHaveLength(0);
	});

	it("runs a job again from a clean state when its worker died mid-merge, and publishes once", async () => {
		await bot?.close();
		bot = await launchBot({ leaseMs: 1500 });
		const num = await ask(ALICE, `/merge tiny-models/e2e-recovered\n\`\`\`yaml\n${recipe()}\`\`\``);
		const jobId = await until(
			"the job to start",
			() => bot?.store.jobsInThread("tiny-models/tiny-llama", num).find((job) => job.state === "running")?.id,
		);
		// The worker dies: its child process is killed and nobody finishes the job; the lease runs out.
		await bot.close({ abortRunning: true });
		bot = await launchBot({ leaseMs: 1500 });
		const job = await until("the job to finish", finished(bot.store, num), 40_000);
		expect(job.id).toBe(jobId);
		expect(job.state, job.error).toBe("succeeded");
		expect(job.attempts).toBe(2);
		const [answer] = await until("the final answer", async () => {
			const comments = await botComments(num);
			return comments.some((c) => c.includes("✅ Done")) ? comments : undefined;
		});
		expect(answer).toMatch(/Attempt 2: the previous run was interrupted/);
	});
});
