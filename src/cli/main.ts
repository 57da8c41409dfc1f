import { EXIT } from "./exit-codes.js";
import type { Output } from "./progress-printer.js";

export interface CliIo {
	stdout: Output;
	stderr: Output;
	env: NodeJS.ProcessEnv;
}

type Command = (argv: string[], io: CliIo) => number | Promise<number>;

/**
 * Each command's module, loaded when that command runs: a merge does not load the bot's server, the Hub emulator or
 * the scheduler (loading every command took 280 ms, the merge command alone 135 ms).
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
	merge: async () => (await import("./commands/merge-command.js")).mergeCommand,
	validate: async () => (await import("./commands/validate-command.js")).validateCommand,
	methods: async () => (await import("./commands/methods-command.js")).methodsCommand,
	explain: async () => (await import("./commands/explain-command.js")).explainCommand,
	compare: async () => (await import("./commands/compare-command.js")).compareCommand,
	serve: async () => (await import("./commands/serve-command.js")).serveCommand,
	comment: async () => (await import("./commands/comment-command.js")).commentCommand,
	hub: async () => (await import("./commands/hub-command.js")).hubCommand,
	schedule: async () => (await import("./commands/schedule-command.js")).scheduleCommand,
};

const USAGE = `mergesmith: merge language models from mergekit-style YAML recipes

Usage:
  mergesmith merge RECIPE --out DIR [options]   merge (also: mergesmith merge RECIPE DIR)
  mergesmith validate RECIPE                    check a recipe without reading any weights
  mergesmith explain RECIPE [--measure] [--json]  what the recipe will do, in plain words (--measure: on the weights)
  mergesmith compare DIR_A DIR_B [--json]       how two merged models differ, per layer and module
  mergesmith methods                            list the merge methods and their parameters
  mergesmith hub [--data DIR] [--port N] [--seed]  a local Hub emulator for development (HF_ENDPOINT=its URL)
  mergesmith serve [--config FILE] [--port N]   the merge bot (without HF_TOKEN: the whole loop on a local Hub)
  mergesmith comment REPO --recipe FILE [--follow]  post a /merge request in a discussion and follow the bot's answer
  mergesmith schedule add|list|remove|run-now    merges kept current by cron or by following their parents (serve runs them)

Merge options:
  --out DIR                output folder
  --random-seed N          seed for randomised methods (DARE, DELLA); recorded in the card
  --out-shard-size SIZE    largest output shard in bytes: 5B (default, 5×10⁹), 500M, 2G
  --dry-run                print the plan (inputs, revisions, tensors, bytes, memory) and read no weights
  --allow-crimes           allow merging models of different architecture families
  --intermediate-dir DIR   multi-stage recipes: keep each stage's output here, and reuse it on the next run
  --device D               where the arithmetic runs: cpu (default, mergesmith's kernels), cuda, webgpu,
                           onnx-cpu (onnxruntime), or auto (CUDA, else WebGPU, else cpu; it says which and why)
  --push OWNER/NAME        publish the merged model to the Hub in one commit (needs HF_TOKEN)
  --private                create that repo private
  --pr                     open a pull request on an existing repo instead
  --overwrite              replace the files of an existing repo (mergesmith never does so unasked)

Environment: HF_HUB_CACHE / HF_HOME (model cache), HF_HUB_OFFLINE=1 (cache only), HF_ENDPOINT, HF_TOKEN.

Exit codes: 0 success; 1 invalid recipe or models (nothing written); 2 bad command line; 3 merge failed while running.
`;

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
	const [command, ...rest] = argv;
	if (command === undefined || command === "help" || command === "--help" || command === "-h") {
		io.stdout.write(USAGE);
		return command === undefined ? EXIT.usage : EXIT.ok;
	}
	const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
	if (!load) {
		io.stderr.write(`mergesmith: unknown command \`${command}\`\n\n${USAGE}`);
		return EXIT.usage;
	}
	try {
		return await (await load())(rest, io);
	} catch (error) {
		if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
			io.stderr.write(`mergesmith ${command}: ${error.message}\n`);
			return EXIT.usage;
		}
		throw error;
	}
}
