import { parseArgs } from "node:util";
import { ModelError } from "../../models/model-error.js";
import type { MergePlan } from "../../plan/merge-plan.js";
import { PlanError } from "../../plan/plan-error.js";
import { runMerge } from "../../run-merge.js";
import { SafetensorsError } from "../../safetensors/safetensors-error.js";
import { EXIT } from "../exit-codes.js";
import { formatBytes } from "../format-bytes.js";
import type { CliIo } from "../main.js";
import { parseSize } from "../parse-size.js";
import { createProgressPrinter, type Output } from "../progress-printer.js";
import { readRecipeFile } from "../read-recipe-file.js";

const USAGE =
	"usage: mergesmith merge RECIPE --out DIR [--random-seed N] [--out-shard-size SIZE] [--dry-run] [--allow-crimes]\n";

/** mergekit-yaml flags that have no meaning here; accepted so that existing scripts keep working. */
const ACCEPTED_MERGEKIT_FLAGS = [
	"cuda",
	"lazy-unpickle",
	"low-cpu-memory",
	"clone-tensors",
	"copy-tokenizer",
	"write-model-card",
	"safe-serialization",
	"trust-remote-code",
] as const;

export async function mergeCommand(args: readonly string[], io: CliIo): Promise<number> {
	const { values, positionals } = parseArgs({
		args: [...args],
		allowPositionals: true,
		options: {
			out: { type: "string", short: "o" },
			"random-seed": { type: "string" },
			"out-shard-size": { type: "string" },
			"dry-run": { type: "boolean" },
			"allow-crimes": { type: "boolean" },
			...Object.fromEntries(ACCEPTED_MERGEKIT_FLAGS.map((flag) => [flag, { type: "boolean" as const }])),
		},
	});
	const [file, positionalOut, extra] = positionals;
	const outDir = values.out ?? positionalOut;
	if (file === undefined || extra !== undefined || (values.out !== undefined && positionalOut !== undefined)) {
		io.stderr.write(USAGE);
		return EXIT.usage;
	}
	if (outDir === undefined && !values["dry-run"]) {
		io.stderr.write(`mergesmith merge: --out DIR is required (where the merged model goes)\n${USAGE}`);
		return EXIT.usage;
	}
	let seed: number | undefined;
	if (values["random-seed"] !== undefined) {
		seed = Number(values["random-seed"]);
		if (!Number.isSafeInteger(seed) || seed < 0) {
			io.stderr.write(`mergesmith merge: --random-seed must be a non-negative integer, got ${values["random-seed"]}\n`);
			return EXIT.usage;
		}
	}
	let maxShardBytes: number | undefined;
	if (values["out-shard-size"] !== undefined) {
		maxShardBytes = parseSize(values["out-shard-size"]);
		if (maxShardBytes === undefined) {
			io.stderr.write(
				`mergesmith merge: --out-shard-size ${values["out-shard-size"]} is not a size; use bytes or K/M/B (×10³/10⁶/10⁹), e.g. 5B or 500M\n`,
			);
			return EXIT.usage;
		}
	}
	for (const flag of ACCEPTED_MERGEKIT_FLAGS) {
		if ((values as Record<string, unknown>)[flag]) {
			io.stderr.write(`note: --${flag} is a mergekit option with no effect in mergesmith\n`);
		}
	}
	const recipe = await readRecipeFile(file, io.stderr);
	if (!recipe) {
		return EXIT.invalid;
	}
	const print = createProgressPrinter(io.stdout, io.stderr);
	let wrote = false;
	try {
		for await (const event of runMerge({
			recipe,
			outDir: outDir ?? "",
			dryRun: values["dry-run"] === true,
			...(seed === undefined ? {} : { seed }),
			...(maxShardBytes === undefined ? {} : { maxShardBytes }),
			...(values["allow-crimes"] ? { allowCrimes: true } : {}),
			models: { offline: isTruthy(io.env.HF_HUB_OFFLINE), hub: hubAccess(io.env) },
		})) {
			if (event.type === "planned" && values["dry-run"]) {
				printPlan(event.plan, io.stdout);
				continue;
			}
			wrote ||= event.type === "tensor";
			print(event);
		}
	} catch (error) {
		if (error instanceof PlanError || error instanceof ModelError || error instanceof SafetensorsError) {
			io.stderr.write(`${file}: error: ${error.message}\n`);
			return wrote ? EXIT.failed : EXIT.invalid;
		}
		io.stderr.write(`mergesmith merge: the merge failed: ${(error as Error).message}\n`);
		return EXIT.failed;
	}
	return EXIT.ok;
}

function isTruthy(value: string | undefined): boolean {
	return ["1", "true", "yes", "on"].includes((value ?? "").toLowerCase());
}

function hubAccess(env: NodeJS.ProcessEnv): { hubUrl?: string; accessToken?: string } {
	return {
		...(env.HF_ENDPOINT ? { hubUrl: env.HF_ENDPOINT } : {}),
		...(env.HF_TOKEN ? { accessToken: env.HF_TOKEN } : {}),
	};
}

function printPlan(plan: MergePlan, out: Output): void {
	const lines = [
		`method: ${plan.method.name} (${plan.method.displayName})`,
		`layout: ${plan.architecture.inferred ? "generic rule (inferred from tensor names)" : `${plan.architecture.family} family`}`,
		"inputs:",
		...plan.models.map((model) => {
			const role = model.reference.key === plan.baseModel?.reference.key ? " [base]" : "";
			return `  ${model.reference.key}${role}: ${model.commit ? `revision ${model.commit}` : "local folder"} (${model.dir})`;
		}),
		`tensors: ${plan.tensors.length}`,
		`layers: ${String(plan.outputConfig.num_hidden_layers ?? "?")}`,
		`bytes to read: ${formatBytes(plan.bytesToRead)}`,
		`bytes to write: ${formatBytes(plan.bytesToWrite)}`,
		`estimated peak memory: ${formatBytes(plan.peakTensorBytes)} (one tensor's inputs and output in float32)`,
		`seed: ${plan.seed} (${plan.seedOrigin})${plan.randomized ? "" : ", unused: this merge draws no random numbers"}`,
	];
	out.write(`${lines.join("\n")}\n`);
}
