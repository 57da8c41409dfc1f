import { benchWebhookLatency } from "./webhook-latency.js";

/** `npm run bench`: every figure measured side by side in one run, printed as tables. */
const only = process.argv[2];
if (only === undefined || only === "webhooks") {
	await benchWebhookLatency();
}
