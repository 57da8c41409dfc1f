import type { HubParams } from "./hub-params.js";
import { hubRequest } from "./hub-request.js";
import type { Webhook } from "./webhook-types.js";

/** The token user's webhooks (the Hub answers a bare array, unpaginated). */
export async function listWebhooks(params: HubParams): Promise<Webhook[]> {
	const response = await hubRequest(params, "/api/settings/webhooks");
	return (await response.json()) as Webhook[];
}
