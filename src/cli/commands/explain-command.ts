import { parseArgs } from "node:util";
import { explainPlan } from "../../insight/explain-plan.js";
import { measurePlan } from "../../insight/measure-plan.js";
import type { MergeReport } from "../../insight/merge-report.js";
import { renderExplanationText } from "../../insight/render-explanation-text.js";
import { renderReportText } from "../../insight/render-report-text.js";
import type { LoadedModel } from "../../models/load-model.js";
import { ModelError } from "../../models/model-error.js";
import { PlanError } from "../../plan/plan-error.js";
import { planMerge } from "../../plan/plan-merge.js";
import { loadRecipeModels } from "../../run-merge.js";
import { SafetensorsError } from "../../safetensors/safetensors-error.js";
import { EXIT } from "../exit-codes.js";
import type { CliIo } from "../main.js";
import { createProgressPrinter, type Output } from "../progress-printer.js";
import { readRecipeFile } from "../read-recipe-file.js";

const USAGE = "usage: mergesmith explain RECIPE [--measure] [--json] [--random-seed N] [--allow-crimes]\n";

/**
 * `mergesmith explain RECIPE`: what the recipe will do, from the plan (configs and headers only, as `--dry-run`);
 * with `--measure`, also what it does to the weights, by running the merge math and writing nothing.
 */
export async function explainCommand(args: readonly string[], io: CliIo): Promise<number> {
	const { values, positionals } = parseArgs({
		args: [...args],
		allowPositionals: true,
		options: {
			measure: { type: "boolean" },
			json: { type: "boolean" },
			"random-seed": { type: "string" },
			"allow-crimes": { type: "boolean" },
		},
	});
	const [file, extra] = positionals;
	if (file === undefined || extra !== undefined) {
		io.stderr.write(USAGE);
		return EXIT.usage;
	}
	let seed: number | undefined;
	if (values["random-seed"] !== undefined) {
		seed = Number(values["random-seed"]);
		if (!Number.isSafeInteger(seed) || seed < 0) {
			io.stderr.write(
				`mergesmith explain: --random-seed must be a non-negative integer, got ${values["random-seed"]}\n`,
			);
			return EXIT.usage;
		}
	}
	// The recipe's warnings come back as findings, so only its errors are printed here.
	const recipe = await readRecipeFile(file, withoutWarnings(io.stderr));
	if (!recipe) {
		return EXIT.invalid;
	}
	const models = { offline: isTruthy(io.env.HF_HUB_OFFLINE), hub: hubAccess(io.env) };
	try {
		const loading = loadRecipeModels(recipe, models);
		let step = await loading.next();
		while (!step.done) {
			step = await loading.next();
		}
		const loaded: Map<string, LoadedModel> = step.value;
		const plan = planMerge(recipe, loaded, {
			...(seed === undefined ? {} : { seed }),
			...(values["allow-crimes"] ? { allowCrimes: true } : {}),
		});
		const explanation = explainPlan(plan);
		let report: MergeReport | undefined;
		if (values.measure) {
			// Progress goes to stderr so that stdout stays the explanation (and valid JSON with --json).
			const print = createProgressPrinter(io.stderr, io.stderr);
			const measuring = measurePlan(plan, models);
			let next = await measuring.next();
			while (!next.done) {
				print(next.value);
				next = await measuring.next();
			}
			report = next.value;
		}
		if (values.json) {
			io.stdout.write(`${JSON.stringify(report ? { explanation, report } : { explanation }, null, 2)}\n`);
		} else {
			io.stdout.write(renderExplanationText(explanation));
			if (report) {
				io.stdout.write(`\n${renderReportText(report)}`);
			}
		}
		return EXIT.ok;
	} catch (error) {
		if (error instanceof PlanError || error instanceof ModelError || error instanceof SafetensorsError) {
			io.stderr.write(`${file}: error: ${error.message}\n`);
			return EXIT.invalid;
		}
		io.stderr.write(`mergesmith explain: ${(error as Error).message}\n`);
		return EXIT.failed;
	}
}

function withoutWarnings(out: Output): Output {
	return { write: (text: string) => (/^\S*: warning: /.test(text) ? undefined : out.write(text)) };
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
