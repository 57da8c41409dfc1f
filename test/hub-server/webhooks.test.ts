import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { commit, whoAmI } from "@huggingface/hub";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { WebhookPayloadV3 } from "../../src/hub-server/webhook-payload.js";
import { callHub, startTestHub, type TestHub, TOKENS } from "./test-hub.js";

interface Received {
	path: string;
	headers: IncomingHttpHeaders;
	payload: WebhookPayloadV3;
}

/** A local webhook receiver that can be told to fail its next answers with 500. */
async function startReceiver(): Promise<{
	url: string;
	received: Received[];
	failNext: (count: number) => void;
	close: () => Promise<void>;
}> {
	const received: Received[] = [];
	let failures = 0;
	const server: Server = createServer((request, response) => {
		let body = "";
		request.on("data", (chunk: Buffer) => {
			body += chunk.toString("utf8");
		});
		request.on("end", () => {
			if (failures > 0) {
				failures--;
				response.writeHead(500).end("busy");
				return;
			}
			received.push({
				path: request.url ?? "",
				headers: request.headers,
				payload: JSON.parse(body) as WebhookPayloadV3,
			});
			response.writeHead(200).end("ok");
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		received,
		failNext: (count) => {
			failures = count;
		},
		close: () => new Promise((resolve) => server.close(() => resolve())),
	};
}

/** The structure of a value: the keys of objects, recursively, and the type of everything else. */
function shape(value: unknown): unknown {
	if (Array.isArray(value)) {
		return value.map(shape);
	}
	if (typeof value === "object" && value !== null) {
		return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, shape(inner)]));
	}
	return typeof value;
}

/** A PR-creation payload in the form of the Hub docs' example (webhooks.md "Event"), as huggingface_hub tests use it. */
const DOCS_EXAMPLE = {
	event: { action: "create", scope: "discussion" },
	repo: {
		type: "model",
		name: "gpt2",
		id: "621ffdc036468d709f17434d",
		private: false,
		url: { web: "https://huggingface.co/gpt2", api: "https://huggingface.co/api/models/gpt2" },
		owner: { id: "628b753283ef59b5be89e937" },
	},
	discussion: {
		id: "6399f58518721fdd27fc9ca9",
		title: "Update co2 emissions",
		url: {
			web: "https://huggingface.co/gpt2/discussions/19",
			api: "https://huggingface.co/api/models/gpt2/discussions/19",
		},
		status: "open",
		author: { id: "61d2f90c3c2083e1c08af22d" },
		num: 19,
		isPullRequest: true,
		changes: { base: "refs/heads/main" },
	},
	comment: {
		id: "6399f58518721fdd27fc9caa",
		author: { id: "61d2f90c3c2083e1c08af22d" },
		content: "Add co2 emissions information to the model card",
		hidden: false,
		url: { web: "https://huggingface.co/gpt2/discussions/19#6399f58518721fdd27fc9caa" },
	},
	webhook: { id: "6390e855e30d9209411de93b", version: 3 },
};

/** Webhooks (spec §2): registration, real v3 payloads with the secret header, asynchronous delivery, retries. */
describe("webhooks", () => {
	let hub: TestHub;
	let receiver: Awaited<ReturnType<typeof startReceiver>>;
	let webhookId: string;
	const events = () => receiver.received.map((entry) => `${entry.payload.event.scope}/${entry.payload.event.action}`);

	beforeAll(async () => {
		hub = await startTestHub();
		receiver = await startReceiver();
		const created = await callHub(hub, TOKENS.alice, "POST", "/api/settings/webhooks", {
			watched: [{ type: "org", name: "tiny-models" }],
			domains: ["repo", "discussion"],
			secret: "s3cret",
			url: `${receiver.url}/hook`,
		});
		expect(created.status).toBe(200);
		webhookId = (created.json.webhook as { id: string }).id;
	});
	beforeEach(() => {
		receiver.received.length = 0;
	});
	afterAll(async () => {
		await hub.close();
		await receiver.close();
	});

	it("registers, lists (a bare array), updates with POST, disables and enables webhooks", async () => {
		const list = await callHub(hub, TOKENS.alice, "GET", "/api/settings/webhooks");
		expect(list.json).toEqual([
			{
				id: webhookId,
				url: `${receiver.url}/hook`,
				job: null,
				watched: [{ type: "org", name: "tiny-models" }],
				domains: ["repo", "discussion"],
				secret: "s3cret",
				disabled: false,
			},
		]);
		expect((await callHub(hub, TOKENS.bob, "GET", `/api/settings/webhooks/${webhookId}`)).status).toBe(404);
		const disabled = await callHub(hub, TOKENS.alice, "POST", `/api/settings/webhooks/${webhookId}/disable`);
		expect(disabled.json.webhook).toMatchObject({ disabled: true });
		await callHub(hub, TOKENS.bob, "POST", "/api/models/tiny-models/tiny-llama/discussions", { title: "unheard" });
		await hub.server.webhooks.idle();
		expect(receiver.received).toEqual([]);
		await callHub(hub, TOKENS.alice, "POST", `/api/settings/webhooks/${webhookId}/enable`);
		const updated = await callHub(hub, TOKENS.alice, "POST", `/api/settings/webhooks/${webhookId}`, {
			watched: [{ type: "org", name: "tiny-models" }],
			domains: ["repo", "discussions"],
			secret: "s3cret",
			url: `${receiver.url}/hook`,
		});
		expect(updated.json.webhook).toMatchObject({ domains: ["repo", "discussion"], disabled: false });
	});

	it("delivers a pull request opened by commit as discussion/create (the docs' shape) and repo.content/update", async () => {
		const bob = await whoAmI({ hubUrl: hub.url, accessToken: TOKENS.bob });
		const result = await commit({
			hubUrl: hub.url,
			accessToken: TOKENS.bob,
			repo: "tiny-models/tiny-llama",
			title: "Update co2 emissions",
			description: "Add co2 emissions information to the model card",
			isPullRequest: true,
			useXet: false,
			operations: [{ operation: "addOrUpdate", path: "co2.txt", content: new Blob(["0 g\n"]) }],
		});
		await hub.server.webhooks.idle();
		expect(events()).toEqual(["discussion/create", "repo.content/update"]);
		const [create, content] = receiver.received;
		expect(create?.headers["x-webhook-secret"]).toBe("s3cret");
		expect(create?.headers["content-type"]).toBe("application/json");
		expect(create?.path).toBe("/hook");
		const { pinned, ...discussion } = create?.payload.discussion ?? { pinned: undefined };
		expect(pinned).toBe(false);
		expect(shape({ ...create?.payload, discussion })).toEqual(shape(DOCS_EXAMPLE));
		const num = Number(result?.pullRequestUrl?.split("/").pop());
		expect(create?.payload).toMatchObject({
			repo: {
				name: "tiny-models/tiny-llama",
				url: { web: `${hub.url}/tiny-models/tiny-llama`, api: `${hub.url}/api/models/tiny-models/tiny-llama` },
			},
			discussion: {
				num,
				status: "open",
				isPullRequest: true,
				author: { id: bob.id },
				url: { api: `${hub.url}/api/models/tiny-models/tiny-llama/discussions/${num}` },
			},
			comment: { content: "Add co2 emissions information to the model card", author: { id: bob.id }, hidden: false },
			webhook: { id: webhookId, version: 3 },
		});
		expect(content?.payload.updatedRefs).toEqual([{ ref: `refs/pr/${num}`, oldSha: null, newSha: result?.commit.oid }]);
		expect(content?.payload.repo.headSha).toMatch(/^[0-9a-f]{40}$/);
	});

	it("delivers comments, edits and hides as discussion.comment events; status changes as discussion/update", async () => {
		const created = await callHub(hub, TOKENS.bob, "POST", "/api/models/tiny-models/tiny-llama/discussions", {
			title: "Question",
			description: "Hello",
		});
		const base = `/api/models/tiny-models/tiny-llama/discussions/${created.json.num}`;
		const comment = await callHub(hub, TOKENS.bob, "POST", `${base}/comment`, { comment: "@merge-bot merge please" });
		const id = (comment.json.newMessage as { id: string }).id;
		await callHub(hub, TOKENS.bob, "POST", `${base}/comment/${id}/edit`, { content: "@merge-bot merge, please" });
		await callHub(hub, TOKENS.alice, "POST", `${base}/comment/${id}/hide`);
		await callHub(hub, TOKENS.bob, "POST", `${base}/status`, { status: "closed" });
		await hub.server.webhooks.idle();
		expect(events()).toEqual([
			"discussion/create",
			"discussion.comment/create",
			"discussion.comment/update",
			"discussion.comment/update",
			"discussion/update",
		]);
		const [, created2, edited, hidden, closed] = receiver.received.map((entry) => entry.payload);
		expect(created2?.comment).toMatchObject({ id, content: "@merge-bot merge please", hidden: false });
		expect(edited?.comment?.content).toBe("@merge-bot merge, please");
		expect(hidden?.comment).toMatchObject({ id, hidden: true });
		expect(hidden?.comment && "content" in hidden.comment).toBe(false);
		expect(closed?.discussion?.status).toBe("closed");
		expect(closed?.comment).toBeUndefined();
	});

	it("retries a failed delivery with the same payload, a bounded number of times, and can replay one", async () => {
		receiver.failNext(2);
		await commit({
			hubUrl: hub.url,
			accessToken: TOKENS.alice,
			repo: "tiny-models/tiny-llama",
			title: "Tweak",
			useXet: false,
			operations: [{ operation: "addOrUpdate", path: "tweak.txt", content: new Blob(["1"]) }],
		});
		await hub.server.webhooks.idle();
		expect(events()).toEqual(["repo.content/update"]);
		const deliveries = (await callHub(hub, TOKENS.alice, "GET", `/api/settings/webhooks/${webhookId}/deliveries`))
			.json as unknown as { id: string; state: string; tries: { status: number }[] }[];
		const last = deliveries.at(-1);
		expect(last?.state).toBe("delivered");
		expect(last?.tries.map((attempt) => attempt.status)).toEqual([500, 500, 200]);
		receiver.failNext(3);
		await callHub(hub, TOKENS.alice, "POST", "/api/models/tiny-models/tiny-llama/discussions", { title: "lost" });
		await hub.server.webhooks.idle();
		const failed = hub.server.webhooks.deliveries(webhookId).at(-1);
		expect(failed?.state).toBe("failed");
		expect(failed?.tries).toHaveLength(3);
		const replay = await callHub(
			hub,
			TOKENS.alice,
			"POST",
			`/api/settings/webhooks/${webhookId}/deliveries/${failed?.id}/replay`,
		);
		expect(replay.status).toBe(200);
		await hub.server.webhooks.idle();
		expect(receiver.received.at(-1)?.payload).toEqual(failed?.payload);
	});

	it("filters by domain and watched repo, and never tells a webhook about a repo its owner cannot read", async () => {
		const other = await startReceiver();
		try {
			await callHub(hub, TOKENS.bob, "POST", "/api/settings/webhooks", {
				watched: [
					{ type: "user", name: "alice" },
					{ type: "model", name: "tiny-models/tiny-gated" },
				],
				domains: ["repo"],
				url: other.url,
			});
			await callHub(hub, TOKENS.alice, "POST", "/api/models/tiny-models/tiny-gated/discussions", {
				title: "not a repo event",
			});
			await commit({
				hubUrl: hub.url,
				accessToken: TOKENS.alice,
				repo: "alice/secret",
				title: "private change",
				useXet: false,
				operations: [{ operation: "addOrUpdate", path: "more.txt", content: new Blob(["x"]) }],
			});
			await commit({
				hubUrl: hub.url,
				accessToken: TOKENS.alice,
				repo: "tiny-models/tiny-gated",
				title: "public change",
				useXet: false,
				operations: [{ operation: "addOrUpdate", path: "more.txt", content: new Blob(["x"]) }],
			});
			await hub.server.webhooks.idle();
			expect(other.received.map((entry) => `${entry.payload.repo.name} ${entry.payload.event.scope}`)).toEqual([
				"tiny-models/tiny-gated repo.content",
			]);
			expect(other.received[0]?.headers["x-webhook-secret"]).toBeUndefined();
		} finally {
			await other.close();
		}
	});
});
