import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { authMiddleware, requestIdMiddleware } from "./auth-middleware.js";
import type { HubDeps, HubEnv, HubServerSettings } from "./hub-env.js";
import { HubError } from "./hub-error.js";
import type { HubStore } from "./hub-store.js";
import { commitRoutes } from "./routes/commit-routes.js";
import { discussionRoutes } from "./routes/discussion-routes.js";
import { repoRoutes } from "./routes/repo-routes.js";
import { resolveRoutes } from "./routes/resolve-routes.js";
import { treeRoutes } from "./routes/tree-routes.js";
import { uploadRoutes } from "./routes/upload-routes.js";
import { webhookRoutes } from "./routes/webhook-routes.js";
import { whoamiRoutes } from "./routes/whoami-routes.js";
import { WebhookDispatcher } from "./webhook-dispatcher.js";

export interface HubAppOptions extends Partial<HubServerSettings> {
	store: HubStore;
	/** Delivers webhook events; one with default retries is made if none is given. */
	webhooks?: WebhookDispatcher;
	/** Called with one line per request (method, path, status, milliseconds). */
	log?: (line: string) => void;
}

export const DEFAULT_HUB_SETTINGS: HubServerSettings = {
	lfsRedirects: false,
	multipartChunkSize: 10_000_000,
	treePageSize: 50,
	discussionPageSize: 50,
};

/**
 * The local Hub as a hono app: everything mergesmith and `@huggingface/hub` use of the Hugging Face Hub
 * (spec hub-protocol.md §1–§5, §9–§11), over the data of a `HubStore`. Test it with `app.request`, serve it with
 * `startHubServer`.
 */
export function createHubApp(options: HubAppOptions): Hono<HubEnv> {
	const { store, log, webhooks, ...overrides } = options;
	const deps: HubDeps = {
		store,
		webhooks: webhooks ?? new WebhookDispatcher(store),
		settings: { ...DEFAULT_HUB_SETTINGS, ...overrides },
	};
	const app = new Hono<HubEnv>();
	if (log) {
		app.use(async (c, next) => {
			const started = performance.now();
			await next();
			log(
				`${c.req.method} ${new URL(c.req.url).pathname} ${c.res.status} ${Math.round(performance.now() - started)}ms`,
			);
		});
	}
	app.use(requestIdMiddleware());
	app.use(authMiddleware(store));
	for (const group of [
		whoamiRoutes,
		webhookRoutes,
		repoRoutes,
		treeRoutes,
		commitRoutes,
		uploadRoutes,
		discussionRoutes,
		resolveRoutes,
	]) {
		app.route("/", group(deps));
	}
	app.notFound(() => new HubError(404, "Not Found").getResponse());
	app.onError((error) => {
		if (error instanceof HubError) {
			return error.getResponse();
		}
		if (error instanceof HTTPException) {
			return new HubError(error.status, error.message).getResponse();
		}
		console.error("local Hub: internal error", error);
		return new HubError(500, `Internal error: ${error.message}`).getResponse();
	});
	return app;
}
