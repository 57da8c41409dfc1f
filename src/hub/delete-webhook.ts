import type { HubParams } from "./hub-params.js";
import { hubRequest } from "./hub-request.js";

/** Removes one of the token user's webhooks. */
export async function deleteWebhook(params: HubParams & { id: string }): Promise<void> {
	const response = await hubRequest(params, `/api/settings/webhooks/${encodeURIComponent(params.id)}`, {
		method: "DELETE",
	});
	// The body is ignored (the Hub's is not specified); reading it frees the connection.
	await response.arrayBuffer();
}
