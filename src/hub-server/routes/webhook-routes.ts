import { Hono } from "hono";
import { requireParticipant, requireViewer } from "../access.js";
import { objectId } from "../git-objects.js";
import { type HubContext, type HubDeps, type HubEnv, jsonBody } from "../hub-env.js";
import { HubError } from "../hub-error.js";
import type { StoredWebhook } from "../hub-types.js";

const WATCH_TYPES = new Set(["user", "org", "model", "dataset", "space"]);

function webhookJson(webhook: StoredWebhook): Record<string, unknown> {
	return {
		id: webhook.id,
		url: webhook.url,
		job: null,
		watched: webhook.watched,
		domains: webhook.domains,
		secret: webhook.secret,
		disabled: webhook.disabled,
	};
}

/** Validates the body of create and update (spec §2.3); the Python constants' "discussions" means "discussion". */
function webhookFields(body: Record<string, unknown>): Pick<StoredWebhook, "url" | "watched" | "domains" | "secret"> {
	if (body.jobSourceId !== undefined) {
		throw new HubError(400, "Job webhooks are not supported by the local Hub");
	}
	const url = typeof body.url === "string" ? body.url : "";
	if (!/^https?:\/\//.test(url) || !URL.canParse(url)) {
		throw new HubError(400, '"url" must be an http(s) URL');
	}
	if (!Array.isArray(body.watched)) {
		throw new HubError(400, '"watched" must be a list of {type, name}');
	}
	const watched = body.watched.map((entry: unknown) => {
		const item = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
		if (typeof item.type !== "string" || !WATCH_TYPES.has(item.type) || typeof item.name !== "string") {
			throw new HubError(400, '"watched" entries need a type (user, org, model, dataset, space) and a name');
		}
		return { type: item.type as StoredWebhook["watched"][number]["type"], name: item.name };
	});
	const rawDomains = body.domains === undefined ? ["repo", "discussion"] : body.domains;
	if (!Array.isArray(rawDomains)) {
		throw new HubError(400, '"domains" must be a list');
	}
	const domains = [
		...new Set(
			rawDomains.map((domain: unknown) => {
				if (domain === "repo") {
					return "repo" as const;
				}
				if (domain === "discussion" || domain === "discussions") {
					return "discussion" as const;
				}
				throw new HubError(400, `Unknown webhook domain ${String(domain)}`);
			}),
		),
	];
	const secret = typeof body.secret === "string" && body.secret !== "" ? body.secret : null;
	if (secret !== null && !/^[\x20-\x7e]+$/.test(secret)) {
		throw new HubError(400, "Only ASCII characters are supported in webhook secrets");
	}
	return { url, watched, domains, secret };
}

/** `/api/settings/webhooks` (spec §2.3): user-level webhooks, plus the emulator's delivery log and replay. */
export function webhookRoutes({ store, webhooks }: HubDeps): Hono<HubEnv> {
	const routes = new Hono<HubEnv>();
	const base = "/api/settings/webhooks";

	const ownWebhook = (c: HubContext): StoredWebhook => {
		const viewer = requireViewer(c.var.viewer);
		const webhook = store.webhooks.find(
			(candidate) => candidate.id === c.req.param("id") && candidate.owner === viewer.user.name,
		);
		if (!webhook) {
			throw new HubError(404, "Webhook not found");
		}
		return webhook;
	};

	routes.get(base, (c) => {
		const viewer = requireViewer(c.var.viewer);
		return c.json(store.webhooks.filter((webhook) => webhook.owner === viewer.user.name).map(webhookJson));
	});

	routes.post(base, async (c) => {
		const viewer = requireParticipant(c.var.viewer);
		const webhook: StoredWebhook = {
			id: objectId(),
			owner: viewer.user.name,
			...webhookFields(await jsonBody(c)),
			disabled: false,
		};
		store.webhooks.push(webhook);
		await store.saveState();
		return c.json({ webhook: webhookJson(webhook) });
	});

	routes.get(`${base}/:id`, (c) => c.json({ webhook: webhookJson(ownWebhook(c)) }));

	// The Hub updates webhooks with POST, not PUT or PATCH.
	routes.post(`${base}/:id`, async (c) => {
		requireParticipant(c.var.viewer);
		const webhook = ownWebhook(c);
		Object.assign(webhook, webhookFields(await jsonBody(c)));
		await store.saveState();
		return c.json({ webhook: webhookJson(webhook) });
	});

	for (const action of ["enable", "disable"] as const) {
		routes.post(`${base}/:id/${action}`, async (c) => {
			requireParticipant(c.var.viewer);
			const webhook = ownWebhook(c);
			webhook.disabled = action === "disable";
			await store.saveState();
			return c.json({ webhook: webhookJson(webhook) });
		});
	}

	routes.delete(`${base}/:id`, async (c) => {
		requireParticipant(c.var.viewer);
		const webhook = ownWebhook(c);
		store.webhooks.splice(store.webhooks.indexOf(webhook), 1);
		await store.saveState();
		return c.json({});
	});

	// Emulator only (the Hub has these in its settings page): past deliveries, and replaying one.
	routes.get(`${base}/:id/deliveries`, (c) => c.json(webhooks.deliveries(ownWebhook(c).id)));
	routes.post(`${base}/:id/deliveries/:deliveryId/replay`, (c) => {
		const webhook = ownWebhook(c);
		const past = webhooks.deliveries(webhook.id).find((delivery) => delivery.id === c.req.param("deliveryId"));
		if (!past) {
			throw new HubError(404, "Delivery not found");
		}
		return c.json(webhooks.replay(past.id));
	});

	return routes;
}
