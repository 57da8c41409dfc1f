import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTinyModel } from "../../src/fixtures/make-tiny-model.js";
import { explainPlan } from "../../src/insight/explain-plan.js";
import type { Explanation } from "../../src/insight/explanation.js";
import type { MergeReport } from "../../src/insight/merge-report.js";
import { renderExplanationMarkdown } from "../../src/insight/render-explanation-markdown.js";
import { planRecipe } from "../helpers/plan-recipe.js";
import { runCli } from "../helpers/run-cli.js";

let dir: string;
let base: string;
let a: string;
let b: string;
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-explain-"));
	const common = { family: "llama", layers: 3, seed: 51 } as const;
	base = join(dir, "base");
	a = join(dir, "a");
	b = join(dir, "b");
	await makeTinyModel(base, common);
	await makeTinyModel(a, { ...common, drift: { seed: 52, scale: 0.05 } });
	await makeTinyModel(b, { ...common, drift: { seed: 53, scale: 0.05 } });
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

let count = 0;
async function explain(
	recipe: string,
	extra: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
	const path = join(dir, `recipe-${++count}.yml`);
	await writeFile(path, recipe);
	return runCli(["explain", path, ...extra]);
}

async function explainJson(
	recipe: string,
	extra: string[] = [],
): Promise<{ explanation: Explanation; report?: MergeReport }> {
	const result = await explain(recipe, ["--json", ...extra]);
	// Only --measure's progress lines may go to stderr.
	expect(result.stderr.split("\n").filter((line) => line !== "" && !line.startsWith("merging "))).toEqual([]);
	expect(result.code).toBe(0);
	return JSON.parse(result.stdout) as { explanation: Explanation; report?: MergeReport };
}

const texts = (explanation: Explanation, level?: "info" | "warning") =>
	explanation.findings
		.filter((finding) => level === undefined || finding.level === level)
		.map((finding) => finding.text);

describe("mergesmith explain", () => {
	it("task-arithmetic family: a listed base changes nothing; gradients, filters and unpruned models", async () => {
		const recipe = `merge_method: ties
base_model: ${base}
models:
  - model: ${base}
  - model: ${a}
    parameters:
      density: 0.5
      weight: [0.2, 1.0]
  - model: ${b}
    parameters:
      weight:
        - filter: mpl
          value: 0.9
        - filter: mlp
          value: 0.6
        - value: 0.3
parameters:
  int8_mask: true
`;
		const result = await explain(recipe);
		expect(result.code).toBe(0);
		const out = result.stdout;
		expect(out).toContain("TIES (`ties`");
		expect(out).toContain(`\`${base}\` is the base`);
		expect(out).toContain("is also listed under the models. That changes nothing here: its task vector is zero");
		expect(out).toContain("Effective weights:");
		// Layer 0: a has 0.2, b (attention) 0.3 → 0.4 and 0.6 of the sum where all agree; b's MLP 0.6 → 0.25, 0.75.
		expect(out).toMatch(/layer 0: attention, norm\s+0\.4\s+0\.6/);
		expect(out).toMatch(/layer 0: mlp\s+0\.25\s+0\.75/);
		expect(out).toMatch(/layer 2: mlp\s+0\.625\s+0\.375/);
		expect(out).toContain("Gradients:");
		expect(out).toMatch(/0\s+0\.2\n\s+1\s+0\.6\n\s+2\s+1\n/);
		expect(out).toContain("Filters:");
		expect(out).toMatch(/`mlp`\s+9/);
		const { explanation } = await explainJson(recipe);
		expect(explanation.method).toBe("ties");
		expect(explanation.base).toBe(base);
		const warnings = texts(explanation, "warning");
		expect(warnings.some((text) => text.includes("The filter `mpl`") && text.includes("matches no tensor"))).toBe(true);
		const infos = texts(explanation, "info");
		expect(
			infos.some((text) =>
				text.startsWith(`Listing the base \`${base}\` among the models changes nothing in \`ties\``),
			),
		).toBe(true);
		expect(
			infos.some((text) => text === `density is 1 for \`${b}\` on every tensor: none of its changes are pruned.`),
		).toBe(true);
		expect(infos.some((text) => text.startsWith("int8_mask (top-level parameters, line 18) only saves memory"))).toBe(
			true,
		);
		expect(
			infos.some((text) =>
				text.startsWith(
					"Tensors outside the layers (embeddings, final norm, lm_head) take each gradient's first value",
				),
			),
		).toBe(true);
	});

	it("random methods: no pruning means no randomness; pruning without a seed is flagged", async () => {
		const unpruned = await explainJson(`merge_method: dare_ties
base_model: ${base}
models:
  - model: ${a}
    parameters: {weight: 0.5}
  - model: ${b}
    parameters: {weight: 0.5}
`);
		expect(texts(unpruned.explanation, "warning")).toContain(
			"density is 1 for every model (the default, as no density is set), so `dare_ties` prunes nothing and draws no random numbers: what remains is the sign election over whole task vectors. Set a density below 1 (0.5 is common) to prune.",
		);
		const unseeded = await explainJson(`merge_method: dare_linear
base_model: ${base}
models:
  - model: ${a}
    parameters: {weight: 0.5, density: 0.4}
  - model: ${b}
    parameters: {weight: 0.5, density: 0.4}
`);
		expect(texts(unseeded.explanation, "warning").some((text) => text.includes("no seed is set"))).toBe(true);
		const seeded = await explainJson(
			`merge_method: dare_linear
base_model: ${base}
random_seed: 4
models:
  - model: ${a}
    parameters: {weight: 0.5, density: 0.4}
`,
		);
		expect(texts(seeded.explanation).some((text) => text.includes("no seed"))).toBe(false);
	});

	it("task_arithmetic: density does nothing, and weights are added, not averaged", async () => {
		const { explanation } = await explainJson(`merge_method: task_arithmetic
base_model: ${base}
models:
  - model: ${a}
    parameters: {weight: 0.7, density: 0.5}
  - model: ${b}
    parameters: {weight: 0.6}
random_seed: 3
`);
		expect(texts(explanation, "warning").some((text) => text.startsWith("`density` (model "))).toBe(true);
		expect(texts(explanation, "info")).toContain("The seed (recipe) does nothing: this merge draws no random numbers.");
		const weights = explanation.sections.find((section) => section.title === "Effective weights");
		expect(weights?.paragraphs[0]).toContain(
			"normalize is off: each task vector is added at its weight as written (the weights sum to 1.3)",
		);
		expect(weights?.table?.rows).toEqual([["all tensors", "0.7", "0.6"]]);
	});

	it("linear: the base is an ordinary input that pulls the result towards it", async () => {
		const { explanation } = await explainJson(`merge_method: linear
base_model: ${base}
models:
  - model: ${base}
    parameters: {weight: 1.0}
  - model: ${a}
    parameters: {weight: 0.5}
  - model: ${b}
    parameters: {weight: 0.5}
`);
		const section = explanation.sections.find((entry) => entry.title === "Base model");
		expect(section?.paragraphs[0]).toContain(
			"makes it an ordinary input: it is averaged in with an effective weight of 0.5",
		);
		expect(
			texts(explanation, "info").some((text) =>
				text.includes("unlike the task-arithmetic methods, where listing the base changes nothing"),
			),
		).toBe(true);
		const unnormalized = await explainJson(`merge_method: linear
models:
  - model: ${a}
    parameters: {weight: 1.0}
  - model: ${b}
    parameters: {weight: 1.0}
parameters:
  normalize: false
`);
		expect(
			texts(unnormalized.explanation, "warning").some((text) =>
				text.startsWith("normalize is off and the weights sum to 2"),
			),
		).toBe(true);
		const needless = await explainJson(`merge_method: linear
models:
  - model: ${a}
    parameters: {weight: 0.25}
  - model: ${b}
    parameters: {weight: 0.75}
parameters:
  normalize: true
`);
		expect(
			texts(needless.explanation, "info").some((text) =>
				text.includes("changes nothing: the weights already sum to 1"),
			),
		).toBe(true);
	});

	it("karcher: a base joins the mean with an equal say", async () => {
		const { explanation } = await explainJson(`merge_method: karcher
base_model: ${base}
models:
  - model: ${a}
  - model: ${b}
`);
		expect(texts(explanation, "info").some((text) => text.includes("one more input of the mean, with a 1/3 say"))).toBe(
			true,
		);
		expect(explanation.sections.find((section) => section.title === "Weights")?.paragraphs[0]).toContain(
			"each count 1/3",
		);
	});

	it("slerp: the interpolation factor per layer, and a t that leaves the base unchanged", async () => {
		const result = await explain(`merge_method: slerp
base_model: ${base}
models:
  - model: ${base}
  - model: ${a}
parameters:
  t: [0, 0.5, 1]
`);
		expect(result.code).toBe(0);
		expect(result.stdout).toContain("the t = 0 end of the interpolation");
		expect(result.stdout).toContain("Interpolation factor t:");
		expect(result.stdout).toMatch(/layer 1\s+0\.5/);
		const flat = await explainJson(`merge_method: slerp
base_model: ${base}
models:
  - model: ${base}
  - model: ${a}
parameters:
  t: 0
`);
		expect(texts(flat.explanation, "warning")).toContain(
			"t is 0 on every tensor, so the result is the base model unchanged.",
		);
	});

	it("passthrough, model_stock, sce and nuslerp", async () => {
		const passthrough = await explainJson(`merge_method: passthrough
base_model: ${base}
slices:
  - sources:
      - model: ${a}
        layer_range: [0, 2]
  - sources:
      - model: ${b}
        layer_range: [1, 3]
`);
		expect(passthrough.explanation.sections.find((section) => section.title === "Base model")?.paragraphs[0]).toContain(
			"ignores it",
		);
		expect(
			texts(passthrough.explanation, "warning").some((text) => text.includes("does nothing for passthrough")),
		).toBe(true);
		const stock = await explainJson(`merge_method: model_stock
base_model: ${base}
models:
  - model: ${a}
  - model: ${b}
`);
		expect(stock.explanation.sections.map((section) => section.title)).toEqual(["Method", "Base model", "Weights"]);
		const sce = await explainJson(`merge_method: sce
base_model: ${base}
models:
  - model: ${base}
  - model: ${a}
  - model: ${b}
`);
		expect(sce.explanation.sections.find((section) => section.title === "Base model")?.paragraphs[1]).toContain(
			"That changes nothing here",
		);
		const nuslerp = await explainJson(`merge_method: nuslerp
models:
  - model: ${a}
    parameters: {weight: 1}
  - model: ${b}
    parameters: {weight: 3}
`);
		expect(nuslerp.explanation.sections.find((section) => section.title === "Base model")?.paragraphs[0]).toContain(
			"interpolates the models' weights directly",
		);
		expect(
			nuslerp.explanation.sections.find((section) => section.title === "Effective weights")?.table?.rows[0],
		).toEqual(["all tensors", "0.25", "0.75"]);
	});

	it("--measure runs the merge math on the weights and reports what a merge would, writing nothing", async () => {
		const recipe = `merge_method: ties
base_model: ${base}
models:
  - model: ${a}
    parameters: {weight: 0.5, density: 0.5}
  - model: ${b}
    parameters: {weight: 0.5, density: 0.5}
`;
		const measured = await explain(recipe, ["--measure"]);
		expect(measured.code).toBe(0);
		expect(measured.stdout).toContain("What the merge does to the weights (measured):");
		expect(measured.stdout).toContain("Their signs disagree on");
		const { report } = await explainJson(recipe, ["--measure"]);
		const path = join(dir, "measured.yml");
		await writeFile(path, recipe);
		const merged = await runCli(["merge", path, "--out", join(dir, "measured-out")]);
		expect(merged.code).toBe(0);
		const written = JSON.parse(
			await (await import("node:fs/promises")).readFile(join(dir, "measured-out", "merge-report.json"), "utf8"),
		) as MergeReport;
		expect(report?.headline).toEqual(written.headline);
		expect(report?.layers).toEqual(written.layers);
	});

	it("refuses an invalid recipe and a wrong command line", async () => {
		const invalid = await explain("merge_method: tees\nmodels:\n  - model: x\n");
		expect(invalid.code).toBe(1);
		expect(invalid.stderr).toContain("did you mean `ties`");
		expect((await runCli(["explain"])).code).toBe(2);
	});
});

describe("explainPlan for the bot", () => {
	it("returns findings and renders them as markdown notes", async () => {
		const plan = await planRecipe(`merge_method: ties
base_model: ${base}
models:
  - model: ${base}
  - model: ${a}
    parameters: {weight: 1, density: 0.5}
`);
		const explanation = explainPlan(plan);
		expect(explanation.findings.every((finding) => finding.level === "info" || finding.level === "warning")).toBe(true);
		expect(texts(explanation)).toContain(
			"With one model besides the base, `ties`'s sign election has nothing to decide; only the pruning acts.",
		);
		const markdown = renderExplanationMarkdown(explanation);
		expect(markdown).toContain("- ℹ️ Listing the base");
		expect(markdown).toContain("<details><summary>What this recipe does</summary>");
		expect(markdown).toContain("| tensors |");
		expect(renderExplanationMarkdown(explanation, { details: false })).not.toContain("<details>");
	});
});

describe("measurements split across worker threads", () => {
	it("give the same report with one thread and with several", async () => {
		const wide = { family: "llama", layers: 2, hidden: 512, intermediate: 1024, vocab: 64, seed: 61 } as const;
		const models = join(dir, "wide");
		await makeTinyModel(join(models, "base"), wide);
		await makeTinyModel(join(models, "a"), { ...wide, drift: { seed: 62, scale: 0.05 } });
		await makeTinyModel(join(models, "b"), { ...wide, drift: { seed: 63, scale: 0.05 } });
		await makeTinyModel(join(models, "c"), { ...wide, drift: { seed: 64, scale: 0.05 } });
		const recipe = (others: string[]) => `merge_method: ties
base_model: ${join(models, "base")}
models:
${others.map((name) => `  - model: ${join(models, name)}\n    parameters: {weight: 0.5, density: 0.5}\n`).join("")}`;
		// Two models take the unrolled loop for two, three the one for three.
		for (const others of [
			["a", "b"],
			["a", "b", "c"],
		]) {
			const path = join(dir, `wide-${others.length}.yml`);
			await writeFile(path, recipe(others));
			const run = async (threads: string) => {
				const result = await runCli(["explain", path, "--measure", "--json"], { MERGESMITH_THREADS: threads });
				expect(result.code).toBe(0);
				return (JSON.parse(result.stdout) as { report: MergeReport }).report;
			};
			const one = await run("1");
			const four = await run("4");
			expect(four.overall.elements).toBe(one.overall.elements);
			expect(four.overall.signConflict).toBe(one.overall.signConflict);
			for (const key of ["relativeChange", "meanTaskVectorCosine", "explained"] as const) {
				expect(four.overall[key]).toBeCloseTo(one.overall[key] ?? Number.NaN, 5);
			}
			four.overall.models.forEach((model, i) => {
				expect(model.share).toBeCloseTo(one.overall.models[i]?.share ?? Number.NaN, 5);
				expect(model.keptFraction).toBe(one.overall.models[i]?.keptFraction);
				expect(model.signAgreement).toBe(one.overall.models[i]?.signAgreement);
				expect(model.conflictWins).toBe(one.overall.models[i]?.conflictWins);
			});
		}
	});
});
