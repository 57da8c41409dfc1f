import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { loadBotConfig } from "../bot/bot-config.js";
import { startBot } from "../bot/start-bot.js";
import { createDiscussion } from "../hub/create-discussion.js";
import { createWebhook } from "../hub/create-webhook.js";
import { seedHub } from "../hub-server/seed-hub.js";
import { startHubServer } from "../hub-server/start-hub-server.js";
import { printTable, quantile } from "./measure.js";

const SECRET = "bench-secret";

/**
 * How fast the bot acknowledges webhooks (202) with 100 deliveries in flight at once, first idle and then while a
 * merge computes: merges run in a child process, so the answer time should not move.
 */
export async function benchWebhookLatency(options: { deliveries?: number } = {}): Promise<void> {
	const deliveries = options.deliveries ?? 100;
	const dir = await mkdtemp(join(tmpdir(), "mergesmith-bench-bot-"));
	const hub = await startHubServer({ dataDir: join(dir, "hub") });
	const big = {
		family: "llama",
		layers: 8,
		hidden: 768,
		intermediate: 2048,
		vocab: 8192,
		seed: 1,
		dtype: "BF16",
	} as const;
	await seedHub(hub.store, {
		users: [
			{ name: "alice", tokens: [{ token: "hf_alice", role: "write" }] },
			{ name: "bot", tokens: [{ token: "hf_bot", role: "write" }] },
		],
		orgs: [
			{
				name: "bench",
				members: [
					{ user: "alice", role: "admin" },
					{ user: "bot", role: "write" },
				],
			},
		],
		repos: [
			{ id: "bench/base", tinyModel: big },
			{ id: "bench/a", tinyModel: { ...big, drift: { seed: 2, scale: 0.02 } } },
			{ id: "bench/b", tinyModel: { ...big, drift: { seed: 3, scale: 0.02 } } },
		],
	});
	const bot = await startBot({
		config: loadBotConfig(undefined, { dataDir: join(dir, "bot") }),
		hub: { accessToken: "hf_bot", hubUrl: hub.url },
		secret: SECRET,
		log: pino({ level: "silent" }),
	});
	await createWebhook({
		hubUrl: hub.url,
		accessToken: "hf_bot",
		url: `${bot.url}/webhooks/hub`,
		watched: [{ type: "org", name: "bench" }],
		domains: ["discussion"],
		secret: SECRET,
	});
	const payload = JSON.stringify({
		event: { action: "create", scope: "discussion.comment" },
		repo: { type: "model", name: "bench/base", id: "0".repeat(24) },
		discussion: { id: "1".repeat(24), num: 999, title: "chatter", status: "open", author: { id: "2".repeat(24) } },
		comment: { id: "3".repeat(24), author: { id: "2".repeat(24) }, content: "Nice model!", hidden: false },
		webhook: { id: "4".repeat(24), version: 3 },
	});
	const burst = async (): Promise<number[]> =>
		Promise.all(
			Array.from({ length: deliveries }, async () => {
				const started = performance.now();
				const response = await fetch(`${bot.url}/webhooks/hub`, {
					method: "POST",
					body: payload,
					headers: { "content-type": "application/json", "x-webhook-secret": SECRET },
				});
				await response.arrayBuffer();
				if (response.status !== 202) {
					throw new Error(`the bot answered ${response.status}`);
				}
				return performance.now() - started;
			}),
		);
	await burst();
	const idle = await burst();
	await createDiscussion({
		hubUrl: hub.url,
		accessToken: "hf_alice",
		repo: "bench/base",
		title: "merge",
		description:
			"/merge bench/out\n```yaml\nmerge_method: ties\nbase_model: bench/base\nmodels:\n  - model: bench/a\n    parameters: {weight: 0.5, density: 0.5}\n  - model: bench/b\n    parameters: {weight: 0.5, density: 0.5}\n```",
	});
	const running = async (): Promise<boolean> =>
		bot.store.jobsInThread("bench/base", 1).some((job) => job.state === "running");
	const deadline = Date.now() + 60_000;
	while (!(await running()) && Date.now() < deadline) {
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	// Up to 20 bursts back to back while the merge runs; only bursts that ended while it still ran count.
	const busy: number[] = [];
	let bursts = 0;
	while (bursts < 20 && (await running())) {
		const latencies = await burst();
		if (await running()) {
			busy.push(...latencies);
			bursts++;
		}
	}
	const job = bot.store.jobsInThread("bench/base", 1)[0];
	if (job?.state !== "succeeded" && job?.state !== "running") {
		console.log(`the merge job ended ${job?.state ?? "missing"}: ${job?.error ?? ""}`);
	}
	printTable(
		`Webhook acknowledgement latency, ${deliveries} concurrent deliveries (ms)`,
		["while", "median", "p99", "max"],
		[
			["idle", quantile(idle, 0.5).toFixed(1), quantile(idle, 0.99).toFixed(1), quantile(idle, 1).toFixed(1)],
			[
				`a TIES merge computes (${bursts} bursts)`,
				quantile(busy, 0.5).toFixed(1),
				quantile(busy, 0.99).toFixed(1),
				quantile(busy, 1).toFixed(1),
			],
		],
	);
	await bot.close({ abortRunning: true });
	await hub.close();
	await rm(dir, { recursive: true, force: true });
}
