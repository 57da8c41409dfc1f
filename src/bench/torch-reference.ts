import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { MERGE_PROCESS_PRELOAD } from "../engine/merge-process.js";
import { defaultThreads } from "../execute/execute-plan.js";
import { listWeightFiles } from "../safetensors/list-weight-files.js";
import { SafetensorsFile } from "../safetensors/safetensors-file.js";
import type { BenchModels } from "./bench-models.js";
import type { BenchRecipe } from "./bench-recipes.js";

/** What the PyTorch reference measured of mergekit's math on one method's sample of tensors. */
export interface TorchMeasure {
	seconds: number;
	inputParameters: number;
	tensors: number;
	/** Its results against the stored output of `mergesmith merge`, where one was given. */
	compared: { elements: number; equal: number; maxAbsDiff: number } | null;
}

// The script is source, not built: from dist/bench/ and src/bench/ alike it lies in src/bench/.
const SCRIPT = fileURLToPath(new URL("../../src/bench/torch-reference.py", import.meta.url));
const MATH_CHILD = fileURLToPath(new URL("./math-child.js", import.meta.url));

/** Merges of each tensor timed by both sides; each side counts its fastest (a warm run beside a cold one). */
const REPEATS = 2;

function run(
	python: string,
	args: readonly string[],
	input?: string,
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
	return new Promise((resolve) => {
		const child = execFile(python, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
			resolve({ ok: error === null, stdout, stderr }),
		);
		child.stdin?.end(input ?? "");
	});
}

/**
 * The first Python that can import PyTorch: `$MERGESMITH_PYTHON`, then `python3` on the PATH, then the system's
 * `/usr/bin/python3` (where Debian's python3-torch installs it, which a version manager's `python3` may hide).
 */
export async function findTorchPython(): Promise<string | undefined> {
	const candidates = [process.env.MERGESMITH_PYTHON, "python3", "/usr/bin/python3"].filter(
		(candidate): candidate is string => candidate !== undefined && candidate !== "",
	);
	for (const python of candidates) {
		if ((await run(python, ["-c", "import torch, numpy"])).ok) {
			return python;
		}
	}
	return undefined;
}

/** The names of the first decoder layer's tensors: every kind of tensor a layer has, about 4% of the model. */
export async function firstLayerTensors(model: string): Promise<string[]> {
	const names: string[] = [];
	for (const path of await listWeightFiles(model)) {
		const file = await SafetensorsFile.open(path);
		names.push(...[...file.tensors.keys()].filter((name) => name.startsWith("model.layers.0.")));
		await file.close();
	}
	return names.sort();
}

/**
 * Runs mergekit's math for `recipe` in PyTorch over `tensors` on as many threads as a merge uses (timing the math
 * alone, inputs already in memory), and compares its results with the merged model in `compare` where given.
 */
export async function runTorchReference(
	python: string,
	recipe: BenchRecipe,
	models: BenchModels,
	tensors: readonly string[],
	compare: string | undefined,
): Promise<TorchMeasure> {
	const job = {
		method: recipe.method,
		base: recipe.base === undefined ? null : models[recipe.base],
		models: recipe.models.map((model) => ({ path: models[model.key], parameters: model.parameters })),
		parameters: recipe.parameters,
		tensors,
		seed: recipe.seed,
		threads: defaultThreads(),
		repeats: REPEATS,
		compare: compare ?? null,
	};
	const result = await run(python, [SCRIPT], JSON.stringify(job));
	if (!result.ok) {
		throw new Error(`the PyTorch reference for ${recipe.method} failed: ${result.stderr.trim()}`);
	}
	return JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "") as TorchMeasure;
}

/** What mergesmith's arithmetic alone measured on the same tensors as the PyTorch reference (see math-child.ts). */
export interface MathMeasure {
	seconds: number;
	inputParameters: number;
}

/** Times mergesmith's arithmetic alone for `recipeFile` over `tensors`, inputs in memory, in a process of its own. */
export async function measureOwnMath(recipeFile: string, tensors: readonly string[]): Promise<MathMeasure> {
	const result = await run(process.execPath, [
		...MERGE_PROCESS_PRELOAD,
		MATH_CHILD,
		recipeFile,
		String(REPEATS),
		...tensors,
	]);
	if (!result.ok) {
		throw new Error(`timing mergesmith's arithmetic for ${recipeFile} failed: ${result.stderr.trim()}`);
	}
	return JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "") as MathMeasure;
}
