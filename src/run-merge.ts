import { mkdir } from "node:fs/promises";
import { executePlan } from "./execute/execute-plan.js";
import type { MergeEvent } from "./execute/merge-events.js";
import { type LoadedModel, loadModel, type ModelSourceOptions } from "./models/load-model.js";
import { type PlanOptions, planMerge } from "./plan/plan-merge.js";
import { referencedModels } from "./plan/referenced-models.js";
import { writeModelFiles } from "./publish/write-model-files.js";
import type { Recipe } from "./recipe/recipe.js";

export interface RunMergeParams extends PlanOptions {
	recipe: Recipe;
	outDir: string;
	models?: ModelSourceOptions;
	maxShardBytes?: number;
	/** Plan only: read configs and headers, write nothing. */
	dryRun?: boolean;
}

/** Opens every model a recipe names (configs and safetensors headers only), reporting each. */
export async function* loadRecipeModels(
	recipe: Recipe,
	options: ModelSourceOptions = {},
): AsyncGenerator<MergeEvent, Map<string, LoadedModel>> {
	const loaded = new Map<string, LoadedModel>();
	for (const reference of referencedModels(recipe)) {
		yield { type: "model-loading", model: reference.key };
		const model = await loadModel(reference, options);
		loaded.set(reference.key, model);
		yield { type: "model-loaded", model: reference.key, origin: model.origin, commit: model.commit, dir: model.dir };
	}
	return loaded;
}

/**
 * recipe → plan → execute → files: the whole local merge as a stream of progress events.
 * The recipe must already have passed validation.
 */
export async function* runMerge(params: RunMergeParams): AsyncGenerator<MergeEvent> {
	const started = performance.now();
	const loaded = yield* loadRecipeModels(params.recipe, params.models);
	const plan = planMerge(params.recipe, loaded, params);
	yield { type: "planned", plan };
	for (const diagnostic of plan.warnings) {
		yield { type: "warning", diagnostic };
	}
	if (params.dryRun) {
		return;
	}
	await mkdir(params.outDir, { recursive: true });
	let weightFiles: string[] = [];
	for await (const event of executePlan(
		plan,
		params.outDir,
		params.maxShardBytes === undefined ? {} : { maxShardBytes: params.maxShardBytes },
	)) {
		if (event.type === "weights-written") {
			weightFiles = event.files;
		}
		yield event;
	}
	const otherFiles = await writeModelFiles(plan, params.outDir);
	yield {
		type: "done",
		outDir: params.outDir,
		files: [...weightFiles, ...otherFiles],
		seconds: (performance.now() - started) / 1000,
	};
}
