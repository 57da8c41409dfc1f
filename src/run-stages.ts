import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { MergeEvent } from "./execute/merge-events.js";
import type { LoadedModel, StoredTensor } from "./models/load-model.js";
import { loadModelFolder } from "./models/load-model-folder.js";
import { preflightModels } from "./models/preflight-models.js";
import type { MergePlan, StageSummary } from "./plan/merge-plan.js";
import type { RecipeStage } from "./plan/order-stages.js";
import { planMerge } from "./plan/plan-merge.js";
import { referencedModels } from "./plan/referenced-models.js";
import { deriveLicense } from "./publish/derive-license.js";
import type { ModelReference } from "./recipe/recipe.js";
import { type RunMergeParams, runMerge } from "./run-merge.js";
import { DTYPE_SIZES } from "./safetensors/dtype.js";
import { elementCount } from "./safetensors/parse-header.js";

export interface RunStagesParams extends Omit<RunMergeParams, "recipe" | "stages"> {
	/** The stages in run order (`orderStages`), the final one last. */
	stages: readonly RecipeStage[];
	/** The whole multi-document recipe text: the final model's mergekit_config.yml, so that it can be rerun. */
	source: string;
	/**
	 * Where intermediate outputs go and stay (mergekit-multi's `--intermediate-dir`); a complete output there made
	 * from the same stage recipe is reused instead of merged again. Without it they go to a temporary folder beside
	 * the output, removed when the run ends, whether it succeeds or fails.
	 */
	intermediateDir?: string;
}

/**
 * Runs a recipe of one or more stages. One is a plain merge (`runMerge`). Several make a multi-stage recipe
 * (mergekit-multi, spec §6.4): every stage is planned first, an intermediate standing in as the model its stage's
 * plan describes, so that a mistake in the last stage is reported before the first one runs; then the stages run
 * in order, each reading the earlier outputs from their folders. The final stage writes to `outDir` and its card
 * lists the stages.
 */
export async function* runStages(params: RunStagesParams): AsyncGenerator<MergeEvent> {
	const { stages, source, intermediateDir: _intermediateDir, ...mergeParams } = params;
	const [only] = stages;
	if (stages.length === 1 && only !== undefined) {
		yield* runMerge({ ...mergeParams, recipe: only.recipe });
		return;
	}
	// With every stage named there is no final one: each output is a result, kept under its name in outDir.
	const allNamed = !stages.some((stage) => stage.final);
	const keep = allNamed || params.intermediateDir !== undefined;
	const parent = dirname(resolve(params.outDir === "" ? "." : params.outDir));
	const root = allNamed
		? params.outDir
		: (params.intermediateDir ??
			(params.dryRun ? join(parent, ".mergesmith-stages") : await mkdtemp(join(parent, ".mergesmith-stages-"))));
	const stageDir = (name: string): string => join(root, name.replace(/[^\w.-]+/g, "_"));
	const models = params.models ?? {};
	const stageOut = (stage: RecipeStage): string => (stage.final ? params.outDir : stageDir(stage.name ?? "final"));

	const plans = new Map<string, MergePlan>();
	try {
		for (const stage of stages) {
			const standIns = new Map(
				[...plans].map(([name, plan]) => [
					name,
					async (reference: ModelReference): Promise<LoadedModel> => standIn(reference, plan, stageDir(name), name),
				]),
			);
			const loaded = await preflightModels(referencedModels(stage.recipe), { ...models, stages: standIns });
			const plan = planMerge(stage.recipe, loaded, params);
			plans.set(stage.name ?? "", plan);
		}
	} catch (error) {
		await removeUnlessKept(root, keep || params.dryRun === true);
		throw error;
	}
	if (params.dryRun) {
		for (const [index, stage] of stages.entries()) {
			const name = stage.name ?? "final";
			const plan = plans.get(stage.name ?? "") as MergePlan;
			yield { type: "stage", index: index + 1, total: stages.length, name, outDir: stageOut(stage), reused: false };
			yield { type: "planned", plan };
			for (const diagnostic of plan.warnings) {
				yield { type: "warning", diagnostic };
			}
		}
		return;
	}

	const summaries: StageSummary[] = [];
	const finished = new Map<string, string>();
	let current = "";
	try {
		for (const [index, stage] of stages.entries()) {
			const name = stage.name ?? "final";
			current = name;
			const outDir = stageOut(stage);
			const reused = keep && !stage.final && isReusable(outDir, stage.recipe.source);
			yield { type: "stage", index: index + 1, total: stages.length, name, outDir, reused };
			const readers = new Map(
				[...finished].map(([stageName, dir]) => [
					stageName,
					async (reference: ModelReference): Promise<LoadedModel> => ({
						...(await loadModelFolder(reference, dir, { origin: "local", commit: undefined })),
						stage: stageName,
					}),
				]),
			);
			if (reused) {
				const plan = plans.get(stage.name ?? "") as MergePlan;
				summaries.push(summarize(name, plan));
				finished.set(name, outDir);
				continue;
			}
			if (!stage.final) {
				await mkdir(outDir, { recursive: true });
			}
			const recipe = stage.final ? { ...stage.recipe, source } : stage.recipe;
			const read = upstream(stage, stages);
			const earlier = summaries.filter((summary) => read.has(summary.name));
			for await (const event of runMerge({
				...mergeParams,
				recipe,
				outDir,
				models: { ...models, stages: readers },
				...(earlier.length > 0 ? { stages: earlier } : {}),
			})) {
				if (event.type === "planned" && !stage.final) {
					summaries.push(summarize(name, event.plan));
				}
				yield event;
			}
			finished.set(name, outDir);
		}
	} catch (error) {
		yield {
			type: "warning",
			diagnostic: {
				severity: "warning",
				message: keep
					? `stage \`${current}\` failed; the finished stages stay in ${root} and are reused when you run the recipe again`
					: `stage \`${current}\` failed; the finished stages' outputs were removed with ${root} (pass --intermediate-dir DIR to keep them and resume from there)`,
			},
		};
		await removeUnlessKept(root, keep);
		throw error;
	}
	await removeUnlessKept(root, keep);
}

/** The names of every stage whose output a stage reads, directly or through other stages. */
function upstream(stage: RecipeStage, stages: readonly RecipeStage[]): Set<string> {
	const found = new Set<string>();
	const pending = [...stage.dependsOn];
	for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
		if (!found.has(name)) {
			found.add(name);
			pending.push(...(stages.find((other) => other.name === name)?.dependsOn ?? []));
		}
	}
	return found;
}

/** A stage's output as its plan describes it, before the stage has run: tensors, config and licence. */
function standIn(reference: ModelReference, plan: MergePlan, dir: string, stage: string): LoadedModel {
	const file = join(dir, "model.safetensors");
	const tensors = new Map<string, StoredTensor>(
		plan.tensors.map((tensor) => [
			tensor.name,
			{
				name: tensor.name,
				dtype: tensor.dtype,
				shape: tensor.shape,
				byteOffset: 0,
				byteLength: elementCount(tensor.shape) * DTYPE_SIZES[tensor.dtype],
				file,
			},
		]),
	);
	return {
		reference,
		dir,
		origin: "local",
		commit: undefined,
		config: plan.outputConfig,
		tensors,
		license: deriveLicense(plan.models).license,
		stage,
	};
}

function summarize(name: string, plan: MergePlan): StageSummary {
	const label = plan.method.paperUrl
		? `[${plan.method.displayName}](${plan.method.paperUrl})`
		: plan.method.displayName;
	return { name, method: label, models: plan.models, baseKey: plan.baseModel?.reference.key };
}

/** A kept output of an earlier run: complete, and made from this very stage recipe. */
function isReusable(dir: string, source: string): boolean {
	const recipeFile = join(dir, "mergekit_config.yml");
	const hasWeights =
		existsSync(join(dir, "model.safetensors")) || existsSync(join(dir, "model.safetensors.index.json"));
	return (
		existsSync(join(dir, "config.json")) &&
		hasWeights &&
		existsSync(recipeFile) &&
		readFileSync(recipeFile, "utf8") === source
	);
}

async function removeUnlessKept(root: string, keep: boolean): Promise<void> {
	if (!keep) {
		await rm(root, { recursive: true, force: true });
	}
}
