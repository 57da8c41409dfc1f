import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { METHOD_GRAPHS } from "../../src/execute/onnx/method-graphs.js";
import { MERGE_METHODS } from "../../src/methods/registry.js";
import { SafetensorsFile } from "../../src/safetensors/safetensors-file.js";
import { writeSafetensorsFile } from "../../src/safetensors/write-safetensors-file.js";
import { compareTensors, type Tolerance } from "../helpers/compare-tensors.js";
import { GOLDEN_DIR, runCli } from "../helpers/run-cli.js";

const CASES_DIR = join(GOLDEN_DIR, "mergekit-tensors");
const index = JSON.parse(await readFile(join(CASES_DIR, "INDEX.json"), "utf8")) as { cases: string[] };

/**
 * Methods the ONNX backend has no graph for: their cases run on `cpu` only. Kept as an explicit list (checked against
 * the graphs below) so that a skipped case is a decision written here, never a silent one.
 */
const NO_ONNX_GRAPH = ["arcee_fusion", "karcher", "multislerp", "nuslerp", "passthrough", "ram", "ramplus_tl"];

interface TensorCase {
	recipe: Record<string, unknown> & { models: { model: string }[]; base_model?: string; merge_method: string };
	tensor: string;
	is_embed: boolean;
	tolerance: Tolerance;
}

let workDir: string;
beforeAll(async () => {
	workDir = await mkdtemp(join(tmpdir(), "mergesmith-golden-tensors-"));
});
afterAll(async () => {
	await rm(workDir, { recursive: true, force: true });
});

/** Lays the case out as the golden README describes and runs the real command line on it. */
async function runCase(
	name: string,
	device?: string,
): Promise<{ got: Float32Array; expected: Float32Array; spec: TensorCase; bf16: boolean }> {
	const spec = await readCase(name);
	const source = await SafetensorsFile.open(join(CASES_DIR, `${name}.safetensors`));
	const caseDir = join(workDir, device === undefined ? name : `${name}-${device}`);
	const modelNames = [
		...new Set([
			...spec.recipe.models.map((entry) => entry.model),
			...(spec.recipe.base_model ? [spec.recipe.base_model] : []),
		]),
	];
	try {
		for (const model of modelNames) {
			const info = source.info(model);
			const dir = join(caseDir, model);
			await mkdir(dir, { recursive: true });
			await writeSafetensorsFile(join(dir, "model.safetensors"), {
				[spec.tensor]: { dtype: info.dtype, shape: info.shape, data: await source.readBytes(model) },
			});
			const config: Record<string, unknown> = {
				architectures: ["GoldenCaseModel"],
				model_type: "golden_case",
				num_hidden_layers: 1,
			};
			if (spec.is_embed) {
				config.vocab_size = info.shape[0];
			}
			await writeFile(join(dir, "config.json"), JSON.stringify(config));
		}
		const recipe = structuredClone(spec.recipe);
		recipe.models = recipe.models.map((entry) => ({ ...entry, model: join(caseDir, entry.model) }));
		if (recipe.base_model) {
			recipe.base_model = join(caseDir, recipe.base_model);
		}
		await writeFile(join(caseDir, "recipe.yml"), stringify(recipe));
		const out = join(caseDir, "out");
		const result = await runCli(
			["merge", join(caseDir, "recipe.yml"), "--out", out, ...(device === undefined ? [] : ["--device", device])],
			{ HF_HUB_CACHE: join(workDir, "cache") },
		);
		expect(result.stderr, `stdout:\n${result.stdout}`).not.toMatch(/error/);
		expect(result.code).toBe(0);
		const merged = await SafetensorsFile.open(join(out, "model.safetensors"));
		try {
			const expectedInfo = source.info("expected");
			return {
				got: await merged.readFloat32(spec.tensor),
				expected: await source.readFloat32("expected"),
				spec,
				bf16: expectedInfo.dtype === "BF16" && merged.info(spec.tensor).dtype === "BF16",
			};
		} finally {
			await merged.close();
		}
	} finally {
		await source.close();
	}
}

async function readCase(name: string): Promise<TensorCase> {
	return JSON.parse(await readFile(join(CASES_DIR, `${name}.json`), "utf8")) as TensorCase;
}

describe("golden mergekit-tensors cases through `mergesmith merge`", () => {
	it("covers all 33 cases", () => {
		expect(index.cases).toHaveLength(33);
	});
	for (const name of index.cases) {
		it(name, async () => {
			const { got, expected, spec, bf16 } = await runCase(name);
			expect(compareTensors(got, expected, spec.tolerance, bf16)).toBeUndefined();
		});
	}
});

describe("golden mergekit-tensors cases through `mergesmith merge --device onnx-cpu`", () => {
	it("skips exactly the methods without an ONNX graph", () => {
		const without = MERGE_METHODS.map((method) => method.name).filter((name) => !Object.hasOwn(METHOD_GRAPHS, name));
		expect(without.sort()).toEqual([...NO_ONNX_GRAPH].sort());
	});
	for (const name of index.cases) {
		it(name, async (test) => {
			const method = (await readCase(name)).recipe.merge_method;
			if (NO_ONNX_GRAPH.includes(method)) {
				test.skip(`${method} has no ONNX graph`);
			}
			const { got, expected, spec, bf16 } = await runCase(name, "onnx-cpu");
			expect(compareTensors(got, expected, spec.tolerance, bf16)).toBeUndefined();
		});
	}
});
