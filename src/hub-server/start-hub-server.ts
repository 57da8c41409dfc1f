import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import { createHubApp } from "./create-hub-app.js";
import type { HubEnv, HubServerSettings } from "./hub-env.js";
import { HubStore } from "./hub-store.js";
import { type WebhookDeliveryOptions, WebhookDispatcher } from "./webhook-dispatcher.js";

export interface StartHubServerOptions extends Partial<HubServerSettings> {
	/** Folder holding the Hub's data; created if missing, reused as is otherwise. */
	dataDir: string;
	/** 0 (the default) picks a free port. */
	port?: number;
	/** A loopback address only: the emulator has no real security and must not be reachable from elsewhere. */
	host?: "127.0.0.1" | "::1" | "localhost";
	webhooks?: WebhookDeliveryOptions;
	log?: (line: string) => void;
}

export interface RunningHubServer {
	/** `http://127.0.0.1:PORT`, the value for `hubUrl` and `HF_ENDPOINT`. */
	url: string;
	port: number;
	store: HubStore;
	webhooks: WebhookDispatcher;
	app: Hono<HubEnv>;
	/** Stops listening, drops open connections, cancels pending webhook retries and waits for data writes. */
	close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export async function startHubServer(options: StartHubServerOptions): Promise<RunningHubServer> {
	const { dataDir, port = 0, host = "127.0.0.1", webhooks: deliveryOptions, ...appOptions } = options;
	if (!LOOPBACK.has(host)) {
		throw new Error(`the local Hub binds to a loopback address only, not ${host}`);
	}
	const store = await HubStore.open(dataDir);
	const webhooks = new WebhookDispatcher(store, deliveryOptions);
	const app = createHubApp({ store, webhooks, ...appOptions });
	const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
		const started = serve({ fetch: app.fetch, port, hostname: host }, () => resolve(started));
		started.once("error", reject);
	});
	const address = server.address() as AddressInfo;
	const hostPart = address.family === "IPv6" ? `[${address.address}]` : address.address;
	return {
		url: `http://${hostPart}:${address.port}`,
		port: address.port,
		store,
		webhooks,
		app,
		close: async () => {
			webhooks.close();
			await new Promise<void>((resolve) => {
				server.close(() => resolve());
				if ("closeAllConnections" in server) {
					server.closeAllConnections();
				}
			});
			await store.flush();
		},
	};
}
