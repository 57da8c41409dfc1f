import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTinyModel } from "../../src/fixtures/make-tiny-model.js";
import type { ModelComparison } from "../../src/insight/model-comparison.js";
import { SafetensorsFile } from "../../src/safetensors/safetensors-file.js";
import { runCli } from "../helpers/run-cli.js";

let dir: string;
let models: string;
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-compare-"));
	models = join(dir, "models");
	const common = { family: "llama", layers: 3, seed: 41 } as const;
	await makeTinyModel(join(models, "base"), common);
	await makeTinyModel(join(models, "a"), { ...common, drift: { seed: 42, scale: 0.05 } });
	await makeTinyModel(join(models, "b"), { ...common, drift: { seed: 43, scale: 0.05 } });
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

async function merge(name: string, recipe: string): Promise<string> {
	const caseDir = join(dir, name);
	await mkdir(caseDir, { recursive: true });
	await writeFile(join(caseDir, "recipe.yml"), recipe);
	const out = join(caseDir, "out");
	const result = await runCli(["merge", join(caseDir, "recipe.yml"), "--out", out, "--random-seed", "9"]);
	// A listed base's weight and density draw the validator's warning, which is the point of the test.
	expect(result.stderr).not.toContain("error");
	expect(result.code).toBe(0);
	return out;
}

async function compare(a: string, b: string): Promise<ModelComparison> {
	const result = await runCli(["compare", a, b, "--json"]);
	expect(result.code).toBe(0);
	return JSON.parse(result.stdout) as ModelComparison;
}

async function readModel(path: string): Promise<Map<string, Float32Array>> {
	const file = await SafetensorsFile.open(join(path, "model.safetensors"));
	const out = new Map<string, Float32Array>();
	for (const name of file.tensors.keys()) {
		out.set(name, await file.readFloat32(name));
	}
	await file.close();
	return out;
}

/** A task-arithmetic recipe, with the base listed under `models:` (with a weight and density) or not. */
const taskRecipe = (method: string, listed: boolean) => `merge_method: ${method}
base_model: ${join(models, "base")}
models:
${listed ? `  - model: ${join(models, "base")}\n    parameters: {weight: 0.7, density: 0.3}\n` : ""}  - model: ${join(models, "a")}
    parameters: {weight: 0.6, density: 0.5}
  - model: ${join(models, "b")}
    parameters: {weight: 0.4, density: 0.6}
`;

describe("mergesmith compare settles “base listed or not?”", () => {
	it.each(["ties", "dare_ties"])("%s: listing the base changes nothing, so the difference is 0", async (method) => {
		const listed = await merge(`${method}-listed`, taskRecipe(method, true));
		const added = await merge(`${method}-added`, taskRecipe(method, false));
		const comparison = await compare(listed, added);
		expect(comparison.overall.tensors).toBeGreaterThan(0);
		expect(comparison.overall.relativeDifference).toBe(0);
		expect(comparison.overall.maxAbsDifference).toBe(0);
		expect(comparison.overall.cosine).toBeCloseTo(1, 10);
		for (const layer of comparison.layers) {
			expect(layer.relativeDifference).toBe(0);
		}
		const text = await runCli(["compare", listed, added]);
		expect(text.stdout).toContain("Identical: all");
	});

	it("linear: a listed base pulls the result towards itself, by exactly the amount the weights say", async () => {
		const body = (withBase: boolean) => `merge_method: linear
${withBase ? `base_model: ${join(models, "base")}\n` : ""}models:
${withBase ? `  - model: ${join(models, "base")}\n    parameters: {weight: 1.0}\n` : ""}  - model: ${join(models, "a")}
    parameters: {weight: 0.5}
  - model: ${join(models, "b")}
    parameters: {weight: 0.5}
`;
		const withBase = await merge("linear-base", body(true));
		const without = await merge("linear-plain", body(false));
		const comparison = await compare(withBase, without);
		// With the base: Y₁ = (½a + ½b + B)/2. Without: Y₀ = (a + b)/2. So Y₁ − Y₀ = (B − Y₀)/2.
		const base = await readModel(join(models, "base"));
		const a = await readModel(join(models, "a"));
		const b = await readModel(join(models, "b"));
		const predict = (names: string[]) => {
			let diffSq = 0;
			let y0Sq = 0;
			let y1Sq = 0;
			let dot = 0;
			for (const name of names) {
				const bb = base.get(name) as Float32Array;
				const aa = a.get(name) as Float32Array;
				const cc = b.get(name) as Float32Array;
				for (let j = 0; j < bb.length; j++) {
					const y0 = ((aa[j] as number) + (cc[j] as number)) / 2;
					const y1 = y0 + ((bb[j] as number) - y0) / 2;
					diffSq += (y1 - y0) ** 2;
					y0Sq += y0 * y0;
					y1Sq += y1 * y1;
					dot += y1 * y0;
				}
			}
			return { relative: Math.sqrt(diffSq / y0Sq), cosine: dot / Math.sqrt(y0Sq * y1Sq) };
		};
		const names = [...base.keys()];
		const overall = predict(names);
		expect(comparison.overall.relativeDifference).toBeGreaterThan(0.01);
		expect(comparison.overall.relativeDifference).toBeCloseTo(overall.relative, 5);
		expect(comparison.overall.cosine).toBeCloseTo(overall.cosine, 6);
		for (const layer of comparison.layers) {
			const expected = predict(names.filter((name) => name.includes(`.layers.${layer.layer}.`)));
			expect(layer.relativeDifference).toBeCloseTo(expected.relative, 5);
		}
		const mlp = comparison.modules.find((group) => group.module === "mlp");
		expect(mlp?.relativeDifference).toBeCloseTo(predict(names.filter((name) => name.includes(".mlp."))).relative, 5);
		const text = await runCli(["compare", withBase, without]);
		expect(text.stdout).toMatch(/A differs from B by [\d.]+% of B's size/);
		expect(text.stdout).toContain("whole model");
	});

	it("refuses a folder that does not exist, and a wrong command line", async () => {
		expect((await runCli(["compare", join(dir, "nope"), join(dir, "nope2")])).code).toBe(1);
		expect((await runCli(["compare", dir])).code).toBe(2);
	});
});
