import { parseArgs } from "node:util";
import { benchMergeThroughput } from "./merge-throughput.js";
import { benchWebhookLatency } from "./webhook-latency.js";

/**
 * `npm run bench [-- merges|webhooks] [--small] [--methods a,b] [--device D] [--runs N]`: every figure measured side
 * by side in one run, printed as tables.
 */
const { values, positionals } = parseArgs({
	allowPositionals: true,
	options: {
		small: { type: "boolean" },
		methods: { type: "string" },
		device: { type: "string" },
		"cache-dir": { type: "string" },
		runs: { type: "string" },
	},
});
function positiveInteger(text: string, option: string): number {
	const value = Number(text);
	if (!Number.isInteger(value) || value < 1) {
		throw new Error(`${option} takes a whole number of at least 1, got ${text}`);
	}
	return value;
}

const only = positionals[0];
if (only === undefined || only === "merges") {
	await benchMergeThroughput({
		small: values.small === true,
		...(values.methods === undefined ? {} : { methods: values.methods.split(",") }),
		...(values.device === undefined ? {} : { mergeArgs: ["--device", values.device] }),
		...(values["cache-dir"] === undefined ? {} : { cacheDir: values["cache-dir"] }),
		...(values.runs === undefined ? {} : { runs: positiveInteger(values.runs, "--runs") }),
	});
}
if (only === undefined || only === "webhooks") {
	await benchWebhookLatency();
}
