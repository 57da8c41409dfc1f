import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { SafetensorsFile } from "../../src/safetensors/safetensors-file.js";
import { compareTensors, type Tolerance } from "../helpers/compare-tensors.js";
import { GOLDEN_DIR, runCli } from "../helpers/run-cli.js";

const CASES_DIR = join(GOLDEN_DIR, "mergekit-models");
const index = JSON.parse(await readFile(join(CASES_DIR, "INDEX.json"), "utf8")) as { cases: string[] };

let workDir: string;
beforeAll(async () => {
	workDir = await mkdtemp(join(tmpdir(), "mergesmith-golden-models-"));
});
afterAll(async () => {
	await rm(workDir, { recursive: true, force: true });
});

/** Replaces every model reference (a folder name under models/) with that folder's absolute path. */
function absolutePaths(value: unknown, modelsDir: string, key?: string): unknown {
	if (Array.isArray(value)) {
		return value.map((item) => absolutePaths(item, modelsDir));
	}
	if (typeof value === "object" && value !== null) {
		return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, absolutePaths(v, modelsDir, k)]));
	}
	return typeof value === "string" && (key === "model" || key === "base_model") ? join(modelsDir, value) : value;
}

describe("golden mergekit-models cases through `mergesmith merge`", () => {
	it("covers all 5 cases", () => {
		expect(index.cases).toHaveLength(5);
	});
	for (const name of index.cases) {
		it(name, async () => {
			const caseDir = join(workDir, name);
			await cp(join(CASES_DIR, name, "models"), join(caseDir, "models"), { recursive: true });
			const spec = JSON.parse(await readFile(join(CASES_DIR, name, "case.json"), "utf8")) as {
				tolerance: Tolerance;
				num_hidden_layers: number;
			};
			const recipe = JSON.parse(await readFile(join(CASES_DIR, name, "recipe.json"), "utf8")) as unknown;
			await writeFile(join(caseDir, "recipe.yml"), stringify(absolutePaths(recipe, join(caseDir, "models"))));
			const out = join(caseDir, "out");
			const result = await runCli(["merge", join(caseDir, "recipe.yml"), "--out", out], {
				HF_HUB_CACHE: join(workDir, "cache"),
			});
			expect(result.stderr, result.stdout).not.toMatch(/error/);
			expect(result.code).toBe(0);

			const config = JSON.parse(await readFile(join(out, "config.json"), "utf8")) as { num_hidden_layers: number };
			expect(config.num_hidden_layers).toBe(spec.num_hidden_layers);
			const expected = await SafetensorsFile.open(join(CASES_DIR, name, "expected.safetensors"));
			const merged = await SafetensorsFile.open(join(out, "model.safetensors"));
			try {
				expect([...merged.tensors.keys()].sort()).toEqual([...expected.tensors.keys()].sort());
				for (const tensor of expected.tensors.keys()) {
					const failure = compareTensors(
						await merged.readFloat32(tensor),
						await expected.readFloat32(tensor),
						spec.tolerance,
						false,
					);
					expect(failure, tensor).toBeUndefined();
				}
			} finally {
				await merged.close();
				await expected.close();
			}
		});
	}
});
