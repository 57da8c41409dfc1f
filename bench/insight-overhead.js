// How much the merge report's measurements add to merge time: the same plan executed with and without the
// observer, on tiny Llama-layout models whose tensors have realistic sizes (TinyLlama-1.1B widths), alternating
// runs and taking the median. Run after `npm run build`: node bench/insight-overhead.js [--layers N] [--methods a,b]
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { executePlan } from "../dist/execute/execute-plan.js";
import { makeTinyModel } from "../dist/fixtures/make-tiny-model.js";
import { createMergeMeasurer } from "../dist/insight/create-merge-measurer.js";
import { planMerge } from "../dist/plan/plan-merge.js";
import { parseRecipe } from "../dist/recipe/parse-recipe.js";
import { loadRecipeModels } from "../dist/run-merge.js";

const { values } = parseArgs({
	options: {
		layers: { type: "string", default: "2" },
		runs: { type: "string", default: "3" },
		methods: { type: "string", default: "linear,task_arithmetic,ties,dare_ties" },
		keep: { type: "string" },
	},
});
const layers = Number(values.layers);
const runs = Number(values.runs);
const dir = values.keep ?? (await mkdtemp(join(tmpdir(), "mergesmith-bench-")));
const sizes = { family: "llama", layers, hidden: 2048, intermediate: 5632, heads: 32, kvHeads: 4, vocab: 8192, seed: 1, dtype: "BF16" };
const models = ["base", "a", "b"];
await mkdir(dir, { recursive: true });
for (const [i, name] of models.entries()) {
	await makeTinyModel(join(dir, name), i === 0 ? sizes : { ...sizes, drift: { seed: 10 + i, scale: 0.01 } });
}

const recipes = {
	linear: `merge_method: linear
models:
  - model: ${join(dir, "a")}
    parameters: {weight: 0.5}
  - model: ${join(dir, "b")}
    parameters: {weight: 0.5}
  - model: ${join(dir, "base")}
    parameters: {weight: 1}
base_model: ${join(dir, "base")}
dtype: bfloat16
`,
	task_arithmetic: `merge_method: task_arithmetic
base_model: ${join(dir, "base")}
models:
  - model: ${join(dir, "a")}
    parameters: {weight: 0.5}
  - model: ${join(dir, "b")}
    parameters: {weight: 0.5}
dtype: bfloat16
`,
	ties: `merge_method: ties
base_model: ${join(dir, "base")}
models:
  - model: ${join(dir, "a")}
    parameters: {weight: 0.5, density: 0.5}
  - model: ${join(dir, "b")}
    parameters: {weight: 0.5, density: 0.5}
dtype: bfloat16
`,
	dare_ties: `merge_method: dare_ties
base_model: ${join(dir, "base")}
random_seed: 1
models:
  - model: ${join(dir, "a")}
    parameters: {weight: 0.5, density: 0.5}
  - model: ${join(dir, "b")}
    parameters: {weight: 0.5, density: 0.5}
dtype: bfloat16
`,
};

async function plan(text) {
	const { recipe } = parseRecipe(text);
	const loading = loadRecipeModels(recipe);
	let step = await loading.next();
	while (!step.done) {
		step = await loading.next();
	}
	return planMerge(recipe, step.value, {});
}

async function time(mergePlan, measure) {
	const out = join(dir, "out");
	await rm(out, { recursive: true, force: true });
	await mkdir(out, { recursive: true });
	const measurer = measure ? createMergeMeasurer(mergePlan) : undefined;
	// Time inside the observer itself: the measurements' own cost, less exposed to other load than the totals.
	let inside = 0;
	const observe = (merged) => {
		const start = performance.now();
		measurer.observe(merged);
		inside += performance.now() - start;
	};
	const started = performance.now();
	const cpu = process.cpuUsage();
	for await (const _ of executePlan(mergePlan, out, measurer ? { observe } : {})) {
		// Drain the progress events.
	}
	if (measurer) {
		measurer.report();
	}
	const used = process.cpuUsage(cpu);
	return { wall: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6, inside: inside / 1000 };
}

const median = (list) => [...list].sort((x, y) => x - y)[Math.floor(list.length / 2)];
const lines = [];
// CPU time is the figure to trust on a shared machine; wall time is printed beside it.
for (const method of values.methods.split(",")) {
	const mergePlan = await plan(recipes[method]);
	await time(mergePlan, false); // warms the page cache and the JIT
	const plain = [];
	const measured = [];
	for (let run = 0; run < runs; run++) {
		plain.push(await time(mergePlan, false));
		measured.push(await time(mergePlan, true));
	}
	const summary = (key) => {
		const without = median(plain.map((entry) => entry[key]));
		const withMeasure = median(measured.map((entry) => entry[key]));
		return `${key} ${without.toFixed(2)} s → ${withMeasure.toFixed(2)} s (${((withMeasure / without - 1) * 100).toFixed(1)}%)`;
	};
	const inside = median(measured.map((entry) => entry.inside)) / median(plain.map((entry) => entry.wall));
	const line = `${method.padEnd(16)} ${summary("cpu")}   ${summary("wall")}   measuring itself: ${(inside * 100).toFixed(1)}% of the merge's wall time`;
	lines.push(line);
	console.log(line);
}
await writeFile(join(dir, "insight-overhead.txt"), `${lines.join("\n")}\n`);
if (values.keep === undefined) {
	await rm(dir, { recursive: true, force: true });
}
