import { readFile } from "node:fs/promises";
import { BufferPool } from "../engine/buffer-pool.js";
import { TensorReader } from "../engine/tensor-reader.js";
import { WorkerPool } from "../engine/worker-pool.js";
import { defaultThreads, loadInputs, mergeInputs, type TensorIo } from "../execute/execute-plan.js";
import { planMerge } from "../plan/plan-merge.js";
import { parseRecipe } from "../recipe/parse-recipe.js";
import { loadRecipeModels } from "../run-merge.js";
import { elementCount } from "../safetensors/parse-header.js";
import { SafetensorsFile, type TensorFile } from "../safetensors/safetensors-file.js";

/**
 * mergesmith's arithmetic alone, beside mergekit's math in PyTorch (torch-reference.py): `node math-child.js RECIPE
 * REPEATS TENSOR…` plans the recipe, then merges each tensor REPEATS times on the merge's worker threads, its inputs
 * read into memory first and only the merge timed, as the PyTorch reference times it. Prints one JSON line: the
 * fastest seconds of each tensor added up, and the input parameters merged.
 */
const [recipeFile = "", repeatsText = "1", ...names] = process.argv.slice(2);
const { recipe } = parseRecipe(await readFile(recipeFile, "utf8"));
if (!recipe) {
	throw new Error(`${recipeFile}: the recipe does not parse`);
}
const loading = loadRecipeModels(recipe);
let step = await loading.next();
while (!step.done) {
	step = await loading.next();
}
const plan = planMerge(recipe, step.value);
const files = new Map<string, Promise<TensorFile>>();
const openFile = (path: string): Promise<TensorFile> => {
	const file = files.get(path) ?? SafetensorsFile.open(path);
	files.set(path, file);
	return file;
};
const threads = defaultThreads();
const workers = threads > 1 ? WorkerPool.create(threads) : undefined;
const pool = new BufferPool(workers !== undefined);
const reader = new TensorReader(openFile);
let seconds = 0;
let inputParameters = 0;
for (const name of names) {
	const tensor = plan.tensors.find((planned) => planned.name === name);
	if (!tensor) {
		throw new Error(`${recipeFile}: the plan has no tensor ${name}`);
	}
	const length = elementCount(tensor.shape);
	let fastest = Number.POSITIVE_INFINITY;
	for (let repeat = 0; repeat < Number(repeatsText); repeat++) {
		const arena = pool.arena();
		const output = pool.arena();
		const io: TensorIo = { reader, arena, output, ...(workers ? { workers } : {}) };
		const inputs = await loadInputs(tensor, openFile, io);
		if (tensor.dtype === "BF16") {
			const bytes = output.bytes(2 * length);
			io.bf16Output = new Uint16Array(bytes.buffer, bytes.byteOffset, length);
		}
		const started = performance.now();
		await mergeInputs(plan, tensor, inputs, () => undefined, undefined, io);
		fastest = Math.min(fastest, (performance.now() - started) / 1000);
		arena.release();
		output.release();
	}
	seconds += fastest;
	inputParameters += length * (tensor.models.length + (tensor.base ? 1 : 0));
}
await reader.settle();
await workers?.close();
pool.close();
for (const file of files.values()) {
	await (await file).close();
}
process.stdout.write(`${JSON.stringify({ seconds, inputParameters })}\n`);
