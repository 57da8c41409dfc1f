import pino from "pino";
import { describe, expect, it } from "vitest";
import { loadBotConfig } from "../../src/bot/bot-config.js";
import type { BotHub } from "../../src/bot/bot-hub.js";
import { createBotApp } from "../../src/bot/create-bot-app.js";
import { JobStore } from "../../src/bot/job-store.js";

/** A Hub that must not be called: these requests are all refused or ignored before the bot talks to the Hub. */
const untouchableHub: BotHub = {
	me: { id: "bot-id", name: "mergesmith" },
	commentAuthor: () => Promise.reject(new Error("unexpected Hub call")),
	postComment: () => Promise.reject(new Error("unexpected Hub call")),
	editComment: () => Promise.reject(new Error("unexpected Hub call")),
};

function app() {
	const store = new JobStore(":memory:");
	return createBotApp(
		{
			store,
			hub: untouchableHub,
			models: { offline: true },
			config: loadBotConfig(),
			log: pino({ level: "silent" }),
			notify: () => undefined,
		},
		{ secret: "s3cret" },
	);
}

const repoEvent = {
	event: { action: "update", scope: "repo.content" },
	repo: { type: "model", name: "org/model", id: "0".repeat(24), headSha: "a".repeat(40) },
	updatedRefs: [{ ref: "refs/heads/main", oldSha: "b".repeat(40), newSha: "a".repeat(40) }],
	webhook: { id: "1".repeat(24), version: 3 },
};

function post(body: string, headers: Record<string, string>) {
	return { method: "POST", body, headers: { "content-type": "application/json", ...headers } };
}

describe("the bot's webhook endpoint", () => {
	it("refuses a missing secret with 401 and a forged one with 403, before reading the body", async () => {
		const { app: server } = app();
		expect((await server.request("/webhooks/hub", post("{}", {}))).status).toBe(401);
		const forged = await server.request(
			"/webhooks/hub",
			post(JSON.stringify(repoEvent), { "x-webhook-secret": "guess" }),
		);
		expect(forged.status).toBe(403);
		expect(await forged.json()).toEqual({ error: "Invalid webhook secret" });
	});

	it("accepts JSON only, within the size limit, in the v3 shape", async () => {
		const { app: server } = app();
		const headers = { "x-webhook-secret": "s3cret" };
		expect(
			(
				await server.request("/webhooks/hub", {
					method: "POST",
					body: "x=1",
					headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
				})
			).status,
		).toBe(415);
		expect((await server.request("/webhooks/hub", post("{not json", headers))).status).toBe(400);
		const wrongShape = await server.request("/webhooks/hub", post(JSON.stringify({ event: {} }), headers));
		expect(wrongShape.status).toBe(400);
		expect(((await wrongShape.json()) as { error: string }).error).toMatch(/not a v3 Hub webhook payload/);
		expect(
			(
				await server.request(
					"/webhooks/hub",
					post(JSON.stringify({ ...repoEvent, padding: "x".repeat(300_000) }), headers),
				)
			).status,
		).toBe(413);
	});

	it("acknowledges a valid event at once with 202 and ignores events that are not comments", async () => {
		const { app: server, idle } = app();
		const response = await server.request(
			"/webhooks/hub",
			post(JSON.stringify(repoEvent), { "x-webhook-secret": "s3cret" }),
		);
		expect(response.status).toBe(202);
		await idle();
	});

	it("answers /healthz and 404 for unknown jobs", async () => {
		const { app: server } = app();
		expect(await (await server.request("/healthz")).json()).toEqual({ ok: true });
		expect((await server.request("/jobs/nope")).status).toBe(404);
	});
});
