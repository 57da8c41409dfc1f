import { parseArgs } from "node:util";
import { benchMergeThroughput } from "./merge-throughput.js";
import { benchWebhookLatency } from "./webhook-latency.js";

/**
 * `npm run bench [-- merges|webhooks] [--small] [--methods a,b] [--device D]`: every figure measured side by side
 * in one run, printed as tables.
 */
const { values, positionals } = parseArgs({
	allowPositionals: true,
	options: {
		small: { type: "boolean" },
		methods: { type: "string" },
		device: { type: "string" },
		"cache-dir": { type: "string" },
	},
});
const only = positionals[0];
if (only === undefined || only === "merges") {
	await benchMergeThroughput({
		small: values.small === true,
		...(values.methods === undefined ? {} : { methods: values.methods.split(",") }),
		...(values.device === undefined ? {} : { mergeArgs: ["--device", values.device] }),
		...(values["cache-dir"] === undefined ? {} : { cacheDir: values["cache-dir"] }),
	});
}
if (only === undefined || only === "webhooks") {
	await benchWebhookLatency();
}
