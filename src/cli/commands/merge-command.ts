import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { hugePagesNote } from "../../engine/huge-pages.js";
import { DeviceError } from "../../execute/device-error.js";
import { DEVICES, isDevice, resolveDevice } from "../../execute/resolve-device.js";
import type { TensorBackend } from "../../execute/tensor-backend.js";
import type { HubParams } from "../../hub/hub-params.js";
import {
	ASSUMED_DOWNLOAD_BYTES_PER_SECOND,
	ASSUMED_MERGE_BYTES_PER_SECOND,
	estimateResources,
} from "../../models/estimate-resources.js";
import { ModelError } from "../../models/model-error.js";
import type { MergePlan } from "../../plan/merge-plan.js";
import { PlanError } from "../../plan/plan-error.js";
import { checkPushTarget } from "../../publish/check-push-target.js";
import { PushError } from "../../publish/push-error.js";
import { pushToHub } from "../../publish/push-to-hub.js";
import { runStages } from "../../run-stages.js";
import { SafetensorsError } from "../../safetensors/safetensors-error.js";
import { EXIT } from "../exit-codes.js";
import { formatBytes, formatDuration } from "../format-bytes.js";
import type { CliIo } from "../main.js";
import { parseSize } from "../parse-size.js";
import { createProgressPrinter, type Output } from "../progress-printer.js";
import { readRecipeStages } from "../read-recipe-stages.js";

const USAGE =
	"usage: mergesmith merge RECIPE --out DIR [--random-seed N] [--out-shard-size SIZE] [--dry-run] [--allow-crimes]\n" +
	"                        [--intermediate-dir DIR] [--device auto|cpu|cuda|webgpu|onnx-cpu] [--download-first]\n" +
	"                        [--push OWNER/NAME [--private] [--pr | --overwrite]]\n";

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
			"intermediate-dir": { type: "string" },
			device: { type: "string" },
			"download-first": { type: "boolean" },
			push: { type: "string" },
			private: { type: "boolean" },
			pr: { type: "boolean" },
			overwrite: { type: "boolean" },
			...Object.fromEntries(ACCEPTED_MERGEKIT_FLAGS.map((flag) => [flag, { type: "boolean" as const }])),
		},
	});
	const [file, positionalOut, extra] = positionals;
	const outDir = values.out ?? positionalOut;
	if (file === undefined || extra !== undefined || (values.out !== undefined && positionalOut !== undefined)) {
		io.stderr.write(USAGE);
		return EXIT.usage;
	}
	const push = values.push;
	if (outDir === undefined && !values["dry-run"] && push === undefined) {
		io.stderr.write(`mergesmith merge: --out DIR is required (where the merged model goes)\n${USAGE}`);
		return EXIT.usage;
	}
	const pushUsage = checkPushFlags(values);
	if (pushUsage !== undefined) {
		io.stderr.write(`mergesmith merge: ${pushUsage}\n${USAGE}`);
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
	const device = values.device ?? "cpu";
	if (!isDevice(device)) {
		io.stderr.write(`mergesmith merge: --device takes ${DEVICES.join(", ")}; got ${device}\n`);
		return EXIT.usage;
	}
	for (const flag of ACCEPTED_MERGEKIT_FLAGS) {
		if ((values as Record<string, unknown>)[flag]) {
			io.stderr.write(
				flag === "cuda"
					? "note: --cuda is a mergekit option with no effect in mergesmith; --device cuda (or auto) runs the merge on a GPU\n"
					: `note: --${flag} is a mergekit option with no effect in mergesmith\n`,
			);
		}
	}
	const recipeStages = await readRecipeStages(file, io.stderr);
	if (!recipeStages) {
		return EXIT.invalid;
	}
	const hub = hubAccess(io.env);
	const offline = isTruthy(io.env.HF_HUB_OFFLINE);
	const pushTarget =
		push === undefined
			? undefined
			: {
					repoId: push,
					...(values.pr ? { pullRequest: true } : {}),
					...(values.overwrite ? { overwrite: true } : {}),
				};
	if (pushTarget) {
		if (offline) {
			io.stderr.write("mergesmith merge: --push needs the Hub, and HF_HUB_OFFLINE is set\n");
			return EXIT.usage;
		}
		// Fail before merging (hours, for big models) when the push could not happen anyway.
		try {
			await checkPushTarget(pushTarget, hub);
		} catch (error) {
			if (error instanceof PushError) {
				io.stderr.write(`mergesmith merge: --push ${push}: ${error.message}\n`);
				return EXIT.invalid;
			}
			throw error;
		}
	}
	// After every check that needs no device, so that a bad recipe or push target is reported without probing GPUs.
	let backend: TensorBackend | undefined;
	if (values.device !== undefined) {
		try {
			const choice = await resolveDevice(
				device,
				recipeStages.stages.map((stage) => stage.recipe.mergeMethod),
			);
			backend = choice.backend;
			io.stdout.write(`${choice.line}\n`);
		} catch (error) {
			if (error instanceof DeviceError) {
				io.stderr.write(`mergesmith merge: ${error.message}\n`);
				return EXIT.usage;
			}
			throw error;
		}
	}
	const hugePagesOff = values["dry-run"] ? undefined : hugePagesNote();
	if (hugePagesOff) {
		io.stderr.write(`${hugePagesOff}\n`);
	}
	const print = createProgressPrinter(io.stdout, io.stderr);
	// --push without --out merges into a temporary folder, removed once published.
	const workDir =
		outDir === undefined && push !== undefined && !values["dry-run"]
			? await mkdtemp(join(tmpdir(), "mergesmith-push-"))
			: undefined;
	let wrote = false;
	let keepWorkDir = false;
	let files: string[] | undefined;
	let plan: MergePlan | undefined;
	try {
		for await (const event of runStages({
			...recipeStages,
			...(values["intermediate-dir"] === undefined ? {} : { intermediateDir: values["intermediate-dir"] }),
			outDir: workDir ?? outDir ?? "",
			dryRun: values["dry-run"] === true,
			...(seed === undefined ? {} : { seed }),
			...(maxShardBytes === undefined ? {} : { maxShardBytes }),
			...(values["allow-crimes"] ? { allowCrimes: true } : {}),
			...(push === undefined ? {} : { repoId: push }),
			...(backend === undefined ? {} : { backend }),
			...(values["download-first"] ? { downloadFirst: true } : {}),
			models: { offline, hub },
		})) {
			if (event.type === "planned") {
				plan = event.plan;
				if (values["dry-run"]) {
					printPlan(event.plan, io.stdout);
					continue;
				}
			}
			if (event.type === "done") {
				files = event.files;
			}
			wrote ||= event.type === "tensor";
			print(event);
		}
		if (pushTarget && files && plan) {
			for await (const event of pushToHub({
				...pushTarget,
				hub,
				outDir: workDir ?? outDir ?? "",
				files,
				...(values.private ? { private: true } : {}),
				...commitMessage(plan),
			})) {
				print(event);
			}
		} else if (pushTarget && plan) {
			io.stdout.write(
				`would publish to ${push}: ${values.pr ? "a pull request on the existing repo" : values.overwrite ? "one commit replacing the existing repo's files" : `a new ${values.private ? "private" : "public"} repo`}\n`,
			);
		}
	} catch (error) {
		if (error instanceof PlanError || error instanceof ModelError || error instanceof SafetensorsError) {
			io.stderr.write(`${file}: error: ${error.message}\n`);
			return wrote ? EXIT.failed : EXIT.invalid;
		}
		if (error instanceof PushError) {
			io.stderr.write(`mergesmith merge: --push ${push}: ${error.message}\n`);
			if (workDir !== undefined && files !== undefined) {
				// The merge itself succeeded: keep it rather than make the user run it again.
				keepWorkDir = true;
				io.stderr.write(`the merged model is kept in ${workDir}\n`);
			}
			return EXIT.failed;
		}
		io.stderr.write(`mergesmith merge: the merge failed: ${(error as Error).message}\n`);
		return EXIT.failed;
	} finally {
		await backend?.close();
		if (workDir !== undefined && !keepWorkDir) {
			await rm(workDir, { recursive: true, force: true });
		}
	}
	return EXIT.ok;
}

/** Usage errors among the publishing flags, or undefined. */
function checkPushFlags(values: {
	push?: string | undefined;
	private?: boolean | undefined;
	pr?: boolean | undefined;
	overwrite?: boolean | undefined;
}): string | undefined {
	if (values.push === undefined) {
		const stray = (["private", "pr", "overwrite"] as const).find((flag) => values[flag]);
		return stray === undefined ? undefined : `--${stray} goes with --push OWNER/NAME`;
	}
	if (!/^[\w.-]+\/[\w.-]+$/.test(values.push)) {
		return `--push takes a Hub repo id, OWNER/NAME; got ${values.push}`;
	}
	if (values.pr && values.overwrite) {
		return "--pr and --overwrite exclude each other: a pull request leaves the main branch alone";
	}
	if (values.private && (values.pr || values.overwrite)) {
		return "--private applies to a repo that --push creates; an existing repo keeps its visibility";
	}
	return undefined;
}

/** The commit's title and description: the method and each input at its revision. */
function commitMessage(plan: MergePlan): { title: string; description: string } {
	const inputs = plan.models.map(
		(model) => `- ${model.reference.key}${model.commit ? ` @ ${model.commit}` : " (local folder)"}`,
	);
	return {
		title: `Merge ${plan.models.length} models with ${plan.method.name} (mergesmith)`,
		description: ["Made with mergesmith from the recipe in mergekit_config.yml.", "", "Inputs:", ...inputs].join("\n"),
	};
}

function isTruthy(value: string | undefined): boolean {
	return ["1", "true", "yes", "on"].includes((value ?? "").toLowerCase());
}

function hubAccess(env: NodeJS.ProcessEnv): HubParams {
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
		...(plan.tokenizer?.output.summary === undefined ? [] : [`tokenizer: ${plan.tokenizer.output.summary}`]),
		`bytes to read: ${formatBytes(plan.bytesToRead)}`,
		`bytes to write: ${formatBytes(plan.bytesToWrite)}`,
		`estimated peak memory: ${formatBytes(plan.peakTensorBytes)} (one tensor's inputs and output in float32)`,
		...resourceLines(plan),
		`seed: ${plan.seed} (${plan.seedOrigin})${plan.randomized ? "" : ", unused: this merge draws no random numbers"}`,
	];
	out.write(`${lines.join("\n")}\n`);
}

/** Hub inputs' sources and what the run will cost beyond the plan: downloads, disk, time. */
function resourceLines(plan: MergePlan): string[] {
	const estimate = estimateResources(plan);
	const lines: string[] = [];
	for (const model of plan.models) {
		if (model.hub) {
			const access = [model.hub.private ? "private" : "", model.hub.gated ? "gated" : ""].filter(Boolean);
			const state =
				model.hub.pending.length === 0
					? "all in the cache"
					: `${formatBytes(model.hub.pendingBytes)} in ${model.hub.pending.length} files to download`;
			lines.push(`  ${model.reference.key}: ${access.length > 0 ? `${access.join(", ")}, ` : ""}${state}`);
		}
	}
	if (lines.length > 0) {
		lines.unshift("hub inputs:");
	}
	lines.push(
		`download: ${formatBytes(estimate.downloadBytes)} in ${estimate.downloadFiles} files`,
		`disk: ${formatBytes(estimate.diskBytes)} (downloads and merged weights)`,
		`estimated time: ${formatDuration(estimate.seconds)} (at ${formatBytes(ASSUMED_DOWNLOAD_BYTES_PER_SECOND)}/s download, ${formatBytes(ASSUMED_MERGE_BYTES_PER_SECOND)}/s merging)`,
	);
	return lines;
}
