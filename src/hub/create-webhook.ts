import type { HubParams } from "./hub-params.js";
import { hubRequest } from "./hub-request.js";
import type { Webhook, WebhookWatched } from "./webhook-types.js";

/**
 * Registers a webhook for the token's user: the Hub then POSTs v3 payloads for the watched repos or namespaces to
 * `url`, with `X-Webhook-Secret: secret`.
 */
export async function createWebhook(
	params: HubParams & {
		url: string;
		watched: WebhookWatched[];
		domains?: ("repo" | "discussion")[];
		secret?: string;
	},
): Promise<Webhook> {
	const response = await hubRequest(params, "/api/settings/webhooks", {
		json: {
			url: params.url,
			watched: params.watched,
			domains: params.domains ?? ["repo", "discussion"],
			...(params.secret === undefined ? {} : { secret: params.secret }),
		},
	});
	return ((await response.json()) as { webhook: Webhook }).webhook;
}
