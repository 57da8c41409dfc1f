import { mkdir } from "node:fs/promises";
import { executePlan } from "./execute/execute-plan.js";
import type { MergeEvent } from "./execute/merge-events.js";
import { deviceLabel, type TensorBackend } from "./execute/tensor-backend.js";
import { createMergeMeasurer } from "./insight/create-merge-measurer.js";
import { downloadHubModels } from "./models/download-hub-model.js";
import type { LoadedModel, ModelSourceOptions } from "./models/load-model.js";
import { preflightModels } from "./models/preflight-models.js";
import { HubWeightStream } from "./models/stream-hub-weights.js";
import type { StageSummary } from "./plan/merge-plan.js";
import { type PlanOptions, planMerge } from "./plan/plan-merge.js";
import { referencedModels } from "./plan/referenced-models.js";
import { writeMergeReport } from "./publish/write-merge-report.js";
import { writeModelFiles } from "./publish/write-model-files.js";
import type { Recipe } from "./recipe/recipe.js";
import { readMergeTokenizers } from "./tokenizer/read-merge-tokenizers.js";

export interface RunMergeParams extends PlanOptions {
	recipe: Recipe;
	outDir: string;
	models?: ModelSourceOptions;
	maxShardBytes?: number;
	/** Plan only: read configs and headers, write nothing. */
	dryRun?: boolean;
	/** The Hub repo the merge is for (`--push`), which the card's usage snippet names. */
	repoId?: string;
	/** The final merge of a multi-stage recipe: the earlier stages, which its card lists. */
	stages?: readonly StageSummary[];
	/**
	 * Download every input file before merging, as mergekit does; by default the weights missing from the cache are
	 * streamed into the merge tensor by tensor and land in the cache as they arrive.
	 */
	downloadFirst?: boolean;
	/** Computes the methods it has graphs for (`--device`); absent: the CPU kernels. */
	backend?: TensorBackend;
	/** Input bytes of a block where a large tensor is merged a block of rows at a time (default ROW_BLOCK_BYTES). */
	rowBlockBytes?: number;
}

/**
 * Opens every model a recipe names (configs and safetensors headers only; Hub models from metadata, all at once),
 * reporting each.
 */
export async function* loadRecipeModels(
	recipe: Recipe,
	options: ModelSourceOptions = {},
): AsyncGenerator<MergeEvent, Map<string, LoadedModel>> {
	const references = referencedModels(recipe);
	for (const reference of references) {
		yield { type: "model-loading", model: reference.key };
	}
	const loaded = await preflightModels(references, options);
	for (const [key, model] of loaded) {
		yield { type: "model-loaded", model: key, origin: model.origin, commit: model.commit, dir: model.dir };
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
	const tokenizers = await readMergeTokenizers(params.recipe, loaded, params.models);
	const plan = planMerge(params.recipe, loaded, tokenizers === undefined ? params : { ...params, tokenizers });
	if (params.stages !== undefined) {
		plan.stages = params.stages;
	}
	yield { type: "planned", plan };
	for (const diagnostic of plan.warnings) {
		yield { type: "warning", diagnostic };
	}
	if (params.dryRun) {
		return;
	}
	// Weights are fetched only once the plan has passed: a recipe error never costs a download. Safetensors files
	// still missing from the cache are streamed into the merge tensor by tensor (unless downloadFirst); the rest is
	// downloaded first.
	const stream = params.downloadFirst ? undefined : HubWeightStream.create(plan.models, params.models);
	yield* downloadHubModels(plan.models, {
		...params.models,
		...(stream ? { skip: (model, file) => stream.streams(model, file) } : {}),
	});
	await mkdir(params.outDir, { recursive: true });
	let weightFiles: string[] = [];
	// Measured in the merge's own pass over each tensor: merge-report.json, the charts and the card's summary.
	const measurer = createMergeMeasurer(plan);
	const executed = executePlan(plan, params.outDir, {
		...(params.maxShardBytes === undefined ? {} : { maxShardBytes: params.maxShardBytes }),
		observe: measurer.observe,
		...(params.backend === undefined ? {} : { backend: params.backend }),
		...(params.rowBlockBytes === undefined ? {} : { rowBlockBytes: params.rowBlockBytes }),
		...(stream ? { openStreamed: (path: string) => stream.open(path) } : {}),
	});
	try {
		for await (const event of executed) {
			if (event.type === "weights-written") {
				weightFiles = event.files;
			}
			yield event;
		}
	} catch (error) {
		await stream?.abort();
		throw error;
	}
	if (stream) {
		yield* stream.complete();
	}
	const report = measurer.report();
	const reportFiles = await writeMergeReport(report, params.outDir);
	const otherFiles = await writeModelFiles(plan, params.outDir, {
		...(params.repoId === undefined ? {} : { repoId: params.repoId }),
		report: { report, charts: reportFiles.charts },
		device: deviceLabel(params.backend, plan.method.name),
	});
	yield {
		type: "done",
		outDir: params.outDir,
		files: [...weightFiles, ...otherFiles, ...reportFiles.files],
		seconds: (performance.now() - started) / 1000,
		report: { file: "merge-report.json", charts: reportFiles.charts, headline: report.headline },
	};
}
