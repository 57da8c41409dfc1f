import { parseArgs } from "node:util";
import { benchMergeThroughput } from "./merge-throughput.js";
import { benchWebhookLatency } from "./webhook-latency.js";

/**
 * `npm run bench [-- merges|webhooks] [--small] [--methods a,b] [--device D] [--runs N]`: every figure measured side
 * by side in one run, printed as tables.
 */
const USAGE = `usage: npm run bench [-- merges|webhooks] [options]

  merges      merge throughput per method against the I/O floor, with peak memory (default: both)
  webhooks    the bot's webhook answer latency

options:
  --small         3 models of about 0.12 B parameters instead of 1.1 B
  --methods a,b   only these merge methods
  --device D      cpu, cuda, webgpu or auto (the merge's --device)
  --runs N        runs of each merge and floor; the fastest is reported (default 2)
  --cache-dir D   where the synthetic models are written once and kept
`;

function parseOptions(): ReturnType<typeof parse> {
	try {
		return parse();
	} catch (error) {
		process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
		process.exit(2);
	}
}

function parse() {
	return parseArgs({
		allowPositionals: true,
		options: {
			small: { type: "boolean" },
			methods: { type: "string" },
			device: { type: "string" },
			"cache-dir": { type: "string" },
			runs: { type: "string" },
			help: { type: "boolean", short: "h" },
		},
	});
}

const { values, positionals } = parseOptions();
if (values.help) {
	process.stdout.write(USAGE);
	process.exit(0);
}
function positiveInteger(text: string, option: string): number {
	const value = Number(text);
	if (!Number.isInteger(value) || value < 1) {
		throw new Error(`${option} takes a whole number of at least 1, got ${text}`);
	}
	return value;
}

const only = positionals[0];
if (only !== undefined && only !== "merges" && only !== "webhooks") {
	process.stderr.write(`unknown bench "${only}"\n\n${USAGE}`);
	process.exit(2);
}
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
