import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTinyModel } from "../../src/fixtures/make-tiny-model.js";
import { orderStages } from "../../src/plan/order-stages.js";
import { parseRecipes } from "../../src/recipe/parse-recipes.js";
import type { Recipe } from "../../src/recipe/recipe.js";
import { readModelTensors } from "../helpers/read-model-tensors.js";
import { runMain } from "../helpers/run-main.js";

let dir: string;
const model = (name: string): string => join(dir, "models", name);

function stagesOf(text: string): ReturnType<typeof orderStages> {
	const recipes = parseRecipes(text).flatMap((document) => (document.recipe ? [document.recipe] : []));
	return orderStages(recipes as Recipe[]);
}

async function run(name: string, recipe: string, extra: string[] = []) {
	const caseDir = join(dir, name);
	await mkdir(caseDir, { recursive: true });
	const file = join(caseDir, "recipe.yml");
	await writeFile(file, recipe);
	const out = join(caseDir, "out");
	const result = await runMain(["merge", file, "--out", out, ...extra], { HF_HUB_CACHE: join(dir, "empty-cache") });
	return { ...result, out, caseDir, file };
}

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-stages-"));
	for (const [name, seed] of [
		["m1", 1],
		["m2", 2],
		["m3", 3],
	] as const) {
		await makeTinyModel(model(name), { family: "qwen2", layers: 3, seed: 5, drift: { seed, scale: 0.1 } });
	}
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

const TWO_STAGES = () => `name: blend
merge_method: linear
models:
  - model: ${model("m1")}
    parameters: {weight: 0.5}
  - model: ${model("m2")}
    parameters: {weight: 0.5}
dtype: float32
---
merge_method: linear
models:
  - model: blend
    parameters: {weight: 0.5}
  - model: ${model("m3")}
    parameters: {weight: 0.5}
dtype: float32
`;

describe("orderStages", () => {
	it("runs stages after the ones they read, the unnamed one last", () => {
		const ordered = stagesOf(`merge_method: linear
models: [{model: b, parameters: {weight: 1}}, {model: a, parameters: {weight: 1}}]
---
name: b
merge_method: linear
models: [{model: a, parameters: {weight: 1}}, {model: org/x, parameters: {weight: 1}}]
---
name: a
merge_method: linear
models: [{model: org/y, parameters: {weight: 1}}]
`);
		expect(ordered.diagnostics).toEqual([]);
		expect(ordered.stages.map((stage) => [stage.name, stage.final])).toEqual([
			["a", false],
			["b", false],
			[undefined, true],
		]);
	});

	it("runs every stage when all are named, as mergekit-multi does, each after those it reads", () => {
		const ordered = stagesOf(`name: final
merge_method: linear
models: [{model: a, parameters: {weight: 1}}]
---
name: a
merge_method: linear
models: [{model: org/y, parameters: {weight: 1}}]
---
name: other
merge_method: linear
models: [{model: org/z, parameters: {weight: 1}}]
`);
		expect(ordered.diagnostics).toEqual([]);
		expect(ordered.stages.map((stage) => [stage.name, stage.final])).toEqual([
			["a", false],
			["final", false],
			["other", false],
		]);
	});

	it("skips stages the final merge does not read", () => {
		const ordered = stagesOf(`name: unused
merge_method: linear
models: [{model: org/z, parameters: {weight: 1}}]
---
merge_method: linear
models: [{model: org/y, parameters: {weight: 1}}]
`);
		expect(ordered.stages.map((stage) => stage.name)).toEqual([undefined]);
		expect(ordered.diagnostics[0]?.message).toMatch(
			/stage `unused` \(line 1\) is not used by the final merge, so it is skipped/,
		);
	});

	it("reports cycles, duplicate names, several unnamed documents and names that are probably typos", () => {
		const cycle = stagesOf(`name: a
merge_method: linear
models: [{model: b, parameters: {weight: 1}}]
---
name: b
merge_method: linear
models: [{model: a, parameters: {weight: 1}}]
---
merge_method: linear
models: [{model: b, parameters: {weight: 1}}]
`);
		expect(cycle.diagnostics.map((d) => d.message).join("\n")).toMatch(/cycle \(`b` → `a` → `b`\)/);
		const duplicate = stagesOf(
			"name: a\nmerge_method: linear\nmodels: [{model: x/y, parameters: {weight: 1}}]\n---\nname: a\nmerge_method: linear\nmodels: [{model: x/z, parameters: {weight: 1}}]\n",
		);
		expect(duplicate.diagnostics[0]?.message).toMatch(/two stages are named `a` \(lines 1 and 5\)/);
		const unnamed = stagesOf(
			"merge_method: linear\nmodels: [{model: x/y, parameters: {weight: 1}}]\n---\nmerge_method: linear\nmodels: [{model: x/z, parameters: {weight: 1}}]\n",
		);
		expect(unnamed.diagnostics[0]?.message).toMatch(/2 documents .* have no `name:`/);
		const typo = stagesOf(
			"name: stage-one\nmerge_method: linear\nmodels: [{model: x/y, parameters: {weight: 1}}]\n---\nmerge_method: linear\nmodels: [{model: stage-on, parameters: {weight: 1}}]\n",
		);
		expect(typo.diagnostics[0]?.message).toMatch(
			/`stage-on` at line 6 is no stage of this recipe: did you mean stage `stage-one`\?/,
		);
		const self = stagesOf(
			"name: a\nmerge_method: linear\nmodels: [{model: a, parameters: {weight: 1}}]\n---\nmerge_method: linear\nmodels: [{model: a, parameters: {weight: 1}}]\n",
		);
		expect(self.diagnostics[0]?.message).toMatch(/stage `a` reads its own output at line 3/);
	});
});

describe("mergesmith merge with a multi-stage recipe", () => {
	it("runs the stages in order, feeds each output to the next and removes the intermediates", async () => {
		const result = await run("two", TWO_STAGES());
		expect(result.stderr).toBe("");
		expect(result.code).toBe(0);
		expect(result.stdout).toMatch(/stage 1\/2 `blend`: merging into .*\.mergesmith-stages-/);
		expect(result.stdout).toMatch(/stage 2\/2 `final`: merging into .*out/);
		const [m1, m2, m3, merged] = await Promise.all(
			[model("m1"), model("m2"), model("m3"), result.out].map((path) => readModelTensors(path)),
		);
		const name = "model.layers.1.self_attn.q_proj.bias";
		const values = merged?.get(name) ?? new Float32Array();
		values.forEach((value, i) => {
			const expected =
				0.25 * (m1?.get(name)?.[i] ?? 0) + 0.25 * (m2?.get(name)?.[i] ?? 0) + 0.5 * (m3?.get(name)?.[i] ?? 0);
			expect(value).toBeCloseTo(expected, 6);
		});
		expect((await readdir(result.caseDir)).filter((entry) => entry.startsWith(".mergesmith-stages"))).toEqual([]);
		expect(await readFile(join(result.out, "mergekit_config.yml"), "utf8")).toBe(TWO_STAGES());
		const card = await readFile(join(result.out, "README.md"), "utf8");
		expect(card).toContain("| `blend` | merged | output of stage `blend` above | other |");
		expect(card).toMatch(/The recipe below has 2 stages/);
		expect(card).toMatch(
			/\| `blend` \| \[Linear\]\(https:\/\/arxiv.org\/abs\/2203.05482\) \| `.*m1`: local folder<br>`.*m2`: local folder \|/,
		);
	});

	it("checks every stage before running any", async () => {
		const recipe = `${TWO_STAGES()}`.replace(
			"  - model: blend\n    parameters: {weight: 0.5}",
			`  - model: blend\n    parameters: {weight: 0.5}\n  - model: blend+${join(dir, "no-adapter")}`,
		);
		const result = await run("late-error", recipe);
		expect(result.code).toBe(1);
		expect(result.stderr).toMatch(/no-adapter/);
		expect(result.stdout).not.toMatch(/stage 1\/2/);
		expect(existsSync(result.out)).toBe(false);
		expect((await readdir(result.caseDir)).filter((entry) => entry.startsWith(".mergesmith-stages"))).toEqual([]);
		const layers = TWO_STAGES().replace(
			"merge_method: linear\nmodels:\n  - model: blend",
			`merge_method: passthrough\nslices:\n  - sources:\n      - model: blend\n        layer_range: [0, 4]\n---\nname: unused\nmerge_method: linear\nmodels:\n  - model: blend`,
		);
		const deep = await run("too-deep", layers.replace(/---\nname: unused[\s\S]*$/, ""));
		expect(deep.code).toBe(1);
		expect(deep.stderr).toMatch(/layer_range \[0, 4\] of blend reaches past its 3 layers/);
		expect(existsSync(deep.out)).toBe(false);
	});

	it("writes every stage under its name when all stages are named", async () => {
		const recipe = TWO_STAGES().replace("---\nmerge_method", "---\nname: second\nmerge_method");
		const result = await run("all-named", recipe);
		expect(result.code, result.stderr).toBe(0);
		expect(existsSync(join(result.out, "blend", "model.safetensors"))).toBe(true);
		expect(existsSync(join(result.out, "second", "model.safetensors"))).toBe(true);
		const card = await readFile(join(result.out, "second", "README.md"), "utf8");
		expect(card).toMatch(/The recipe below has 2 stages/);
	});

	it("keeps intermediates in --intermediate-dir and reuses them on the next run", async () => {
		const keep = join(dir, "kept");
		const first = await run("keep", TWO_STAGES(), ["--intermediate-dir", keep]);
		expect(first.code, first.stderr).toBe(0);
		expect(existsSync(join(keep, "blend", "model.safetensors"))).toBe(true);
		const second = await run("keep", TWO_STAGES(), ["--intermediate-dir", keep]);
		expect(second.code, second.stderr).toBe(0);
		expect(second.stdout).toMatch(/stage 1\/2 `blend`: reusing the earlier output in .*kept/);
	});

	it("prints every stage's plan with --dry-run and validates all stages with `mergesmith validate`", async () => {
		const caseDir = join(dir, "dry");
		await mkdir(caseDir, { recursive: true });
		const file = join(caseDir, "recipe.yml");
		await writeFile(file, TWO_STAGES());
		const dry = await runMain(["merge", file, "--dry-run"]);
		expect(dry.code, dry.stderr).toBe(0);
		expect(dry.stdout.match(/method: linear/g)).toHaveLength(2);
		expect(dry.stdout).toMatch(/stage 1\/2 `blend`/);
		expect(existsSync(join(caseDir, ".mergesmith-stages"))).toBe(false);
		const valid = await runMain(["validate", file]);
		expect(valid.stdout).toContain("valid 2-stage recipe: blend (linear) → final (linear)");
	});
});
