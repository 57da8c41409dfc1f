import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type HubSeed, seedHub } from "../../src/hub-server/seed-hub.js";
import {
	type RunningHubServer,
	type StartHubServerOptions,
	startHubServer,
} from "../../src/hub-server/start-hub-server.js";

export const TOKENS = {
	alice: "hf_alice_test_write",
	aliceRead: "hf_alice_test_read",
	bob: "hf_bob_test_write",
	bot: "hf_mergebot_test_write",
	carol: "hf_carol_test_write",
} as const;

/** alice admins the org tiny-models, merge-bot writes to it, bob and carol are outsiders. */
export const TEST_SEED: HubSeed = {
	users: [
		{
			name: "alice",
			fullname: "Alice Developer",
			tokens: [
				{ token: TOKENS.alice, role: "write" },
				{ token: TOKENS.aliceRead, role: "read" },
			],
		},
		{ name: "bob", tokens: [{ token: TOKENS.bob, role: "write" }] },
		{ name: "merge-bot", fullname: "Merge Bot", tokens: [{ token: TOKENS.bot, role: "write" }] },
		{ name: "carol", tokens: [{ token: TOKENS.carol, role: "write" }] },
	],
	orgs: [
		{
			name: "tiny-models",
			members: [
				{ user: "alice", role: "admin" },
				{ user: "merge-bot", role: "write" },
			],
		},
	],
	repos: [
		{
			id: "tiny-models/tiny-llama",
			tinyModel: { family: "llama", layers: 2, seed: 1, license: "apache-2.0" },
		},
		{
			id: "tiny-models/tiny-gated",
			gated: "manual",
			tinyModel: { family: "mistral", layers: 2, seed: 2 },
		},
		{ id: "alice/secret", private: true, files: { "notes.txt": "private notes\n", "empty.txt": "" } },
	],
};

export interface TestHub {
	url: string;
	server: RunningHubServer;
	dataDir: string;
	/** Stops the server and starts a new one on the same data folder (and port). */
	restart(): Promise<void>;
	close(): Promise<void>;
}

/** A seeded local Hub on an ephemeral port, in a temporary folder removed by `close`. */
export async function startTestHub(
	options: Partial<Omit<StartHubServerOptions, "dataDir">> & { seed?: HubSeed } = {},
): Promise<TestHub> {
	const { seed = TEST_SEED, ...serverOptions } = options;
	const dataDir = await mkdtemp(join(tmpdir(), "mergesmith-hub-test-"));
	const webhooks = { retryDelayMs: 20, timeoutMs: 2000, ...serverOptions.webhooks };
	let server = await startHubServer({ ...serverOptions, webhooks, dataDir });
	await seedHub(server.store, seed);
	const hub: TestHub = {
		url: server.url,
		server,
		dataDir,
		restart: async () => {
			await server.close();
			server = await startHubServer({ ...serverOptions, webhooks, dataDir, port: server.port });
			hub.server = server;
			hub.url = server.url;
		},
		close: async () => {
			await server.close();
			await rm(dataDir, { recursive: true, force: true });
		},
	};
	return hub;
}

/** A JSON call to the local Hub as the bot's own small functions make it (discussions, webhooks). */
export async function callHub(
	hub: Pick<TestHub, "url">,
	token: string | undefined,
	method: string,
	path: string,
	body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> & Record<number, unknown> }> {
	const response = await fetch(`${hub.url}${path}`, {
		method,
		headers: {
			...(token ? { Authorization: `Bearer ${token}` } : {}),
			...(body === undefined ? {} : { "Content-Type": "application/json" }),
		},
		...(body === undefined ? {} : { body: JSON.stringify(body) }),
	});
	const text = await response.text();
	return { status: response.status, json: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : {} };
}
