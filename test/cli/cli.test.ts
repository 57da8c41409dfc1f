import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MERGE_METHODS } from "../../src/methods/registry.js";
import { runCli } from "../helpers/run-cli.js";

let dir: string;
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-cli-"));
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

async function recipeFile(name: string, text: string): Promise<string> {
	const path = join(dir, name);
	await writeFile(path, text);
	return path;
}

// None of these models exist: every recipe must be refused on its own text, before any model is looked up.
const invalid: [string, string, RegExp][] = [
	[
		"unknown-method.yml",
		"merge_method: dare-ties\nbase_model: org/base\nmodels:\n  - model: org/a\n    parameters: {weight: 1}\n",
		/:1:\d+: error: unknown merge method `dare-ties` at line 1: did you mean `dare_ties`\?/,
	],
	[
		"tabs.yml",
		"merge_method: linear\nmodels:\n\t- model: org/a\n",
		/:3:\d+: error: line 3 has a tab in its indentation/,
	],
	[
		"missing-base.yml",
		"merge_method: ties\nmodels:\n  - model: org/a\n    parameters: {weight: 1, density: 0.5}\n  - model: org/b\n    parameters: {weight: 1, density: 0.5}\n",
		/error: ties needs a base_model/,
	],
	[
		"density-53.yml",
		"merge_method: ties\nbase_model: org/base\nmodels:\n  - model: org/a\n    parameters:\n      weight: 1\n      density: 53\n",
		/:7:\d+: error: `density: 53` at line 7 is out of range: `density` must be in \(0, 1\]/,
	],
	[
		"slice-lengths.yml",
		"merge_method: slerp\nbase_model: org/a\nslices:\n  - sources:\n      - model: org/a\n        layer_range: [0, 32]\n      - model: org/b\n        layer_range: [0, 30]\nparameters:\n  t: 0.5\n",
		/:4:\d+: error: slice 1 \(line 4\): sources cover 32 and 30 layers/,
	],
	[
		"duplicate-keys.yml",
		"merge_method: linear\nmodels:\n  - model: org/a\n    parameters: {weight: 1}\nmerge_method: ties\n",
		/`merge_method` appears twice, at lines 1 and 5/,
	],
	[
		"chat.md",
		"Could you run this?\n\n```yaml\nmerge_method: ties\nbase_model: org/base\nmodels:\n  - model: org/a\n    parameters: {weight: 1, density: 1.5}\n```\n\nThanks!\n",
		/chat\.md:8:\d+: error: `density: 1.5` at line 8 is out of range/,
	],
];

describe("mergesmith validate", () => {
	for (const [name, text, message] of invalid) {
		it(`rejects ${name} naming the line, before looking up any model`, async () => {
			const result = await runCli(["validate", await recipeFile(name, text)]);
			expect(result.code).toBe(1);
			expect(result.stderr).toMatch(message);
			expect(result.stderr).not.toMatch(/not found|cache/);
		});
	}

	it("warns about misspelt parameters but accepts the recipe", async () => {
		const result = await runCli([
			"validate",
			await recipeFile(
				"desnity.yml",
				"merge_method: ties\nbase_model: org/base\nmodels:\n  - model: org/a\n    parameters:\n      weight: 1\n      desnity: 0.5\n",
			),
		]);
		expect(result.code).toBe(0);
		expect(result.stderr).toMatch(/:7:\d+: warning: .*`desnity`.*did you mean `density`/);
		expect(result.stdout).toMatch(/valid ties recipe/);
	});

	it("refuses merging with the same errors as validate, and writes nothing", async () => {
		const out = join(dir, "never");
		const result = await runCli(["merge", await recipeFile("merge-bad.yml", invalid[0]?.[1] ?? ""), "--out", out]);
		expect(result.code).toBe(1);
		expect(result.stderr).toMatch(/did you mean `dare_ties`/);
	});
});

describe("mergesmith command line", () => {
	it("lists every registry method with its parameters", async () => {
		const result = await runCli(["methods"]);
		expect(result.code).toBe(0);
		for (const method of MERGE_METHODS) {
			expect(result.stdout).toContain(method.name);
			expect(result.stdout).toContain(method.displayName);
		}
		expect(result.stdout).toMatch(/^ties .*weight \(required\), density=1 .*normalize=true/m);
	});

	it("answers bad command lines with exit code 2 and the usage", async () => {
		const unknown = await runCli(["frobnicate"]);
		expect(unknown.code).toBe(2);
		expect(unknown.stderr).toMatch(/unknown command `frobnicate`[\s\S]*Usage:/);
		expect((await runCli(["constructor"])).code).toBe(2);
		const help = await runCli(["help"]);
		expect(help.code).toBe(0);
		expect(help.stdout).toMatch(/^Usage:$/m);
		const noOut = await runCli(["merge", "recipe.yml"]);
		expect(noOut.code).toBe(2);
		expect(noOut.stderr).toMatch(/--out DIR is required/);
		const badSize = await runCli(["merge", "recipe.yml", "--out", "x", "--out-shard-size", "lots"]);
		expect(badSize.code).toBe(2);
		expect(badSize.stderr).toMatch(/--out-shard-size lots is not a size/);
		expect((await runCli(["merge", "recipe.yml", "--out", "x", "--bogus"])).code).toBe(2);
	});
});
