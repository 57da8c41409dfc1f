import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTinyModel, type TinyFamily, type TinyModelOptions } from "../../src/fixtures/make-tiny-model.js";
import { FAMILIES, findFamily } from "../../src/plan/architectures/families.js";
import { readModelTensors } from "../helpers/read-model-tensors.js";
import { runMain } from "../helpers/run-main.js";

let dir: string;

async function merge(name: string, recipe: string) {
	const caseDir = join(dir, name);
	await mkdir(caseDir, { recursive: true });
	const file = join(caseDir, "recipe.yml");
	await writeFile(file, recipe);
	const out = join(caseDir, "out");
	return { ...(await runMain(["merge", file, "--out", out], { HF_HUB_CACHE: join(dir, "empty-cache") })), out };
}

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-families-"));
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

const CASES: [TinyFamily, Partial<TinyModelOptions>][] = [
	["llama", { kvHeads: 1 }],
	["mistral", { heads: 4, kvHeads: 2, headDim: 8 }],
	["mixtral", { experts: 3 }],
	["qwen2", { tieEmbeddings: true }],
	["qwen3", {}],
	["qwen3_moe", { experts: 2 }],
	["gemma", {}],
	["gemma2", {}],
	["gemma3", { headDim: 4 }],
	["phi3", {}],
	["cohere", { qkNorm: true }],
	["cohere2", {}],
];

describe("the family table", () => {
	it("knows each family by its config's architecture and model_type", () => {
		expect(findFamily("Gemma3ForCausalLM", "gemma3_text")?.family).toBe("gemma3");
		expect(findFamily("MixtralForCausalLM", "mixtral")?.expertCountConfigKey).toBe("num_local_experts");
		expect(findFamily("CohereForCausalLM", "cohere")?.layerWeights.map((w) => w.name)).not.toContain(
			"model.layers.${layer_index}.post_attention_layernorm.weight",
		);
		expect(FAMILIES.every((family) => family.vocabSizeConfigKey === "vocab_size")).toBe(true);
	});

	it.each(CASES)("merges tiny %s models tensor for tensor under their own names", async (family, options) => {
		const models = join(dir, family);
		const common = { family, layers: 3, seed: 4, ...options } as TinyModelOptions;
		await makeTinyModel(join(models, "base"), common);
		await makeTinyModel(join(models, "a"), { ...common, drift: { seed: 1, scale: 0.1 } });
		await makeTinyModel(join(models, "b"), { ...common, drift: { seed: 2, scale: 0.1 } });
		const result = await merge(
			family,
			`merge_method: task_arithmetic
base_model: ${join(models, "base")}
models:
  - model: ${join(models, "a")}
    parameters: {weight: 0.6}
  - model: ${join(models, "b")}
    parameters: {weight: 0.4}
`,
		);
		expect(result.stderr).toBe("");
		expect(result.code).toBe(0);
		const [base, a, b, merged] = await Promise.all(
			["base", "a", "b"].map((name) => readModelTensors(join(models, name))).concat(readModelTensors(result.out)),
		);
		expect([...(merged?.keys() ?? [])].sort()).toEqual([...(base?.keys() ?? [])].sort());
		for (const [name, values] of merged ?? []) {
			const i = values.length - 1;
			const expected =
				(base?.get(name)?.[i] ?? 0) +
				0.6 * ((a?.get(name)?.[i] ?? 0) - (base?.get(name)?.[i] ?? 0)) +
				0.4 * ((b?.get(name)?.[i] ?? 0) - (base?.get(name)?.[i] ?? 0));
			expect(values[i], name).toBeCloseTo(expected, 5);
		}
		const card = await readFile(join(result.out, "README.md"), "utf8");
		expect(card).toContain(`Layout: ${family} family table`);
	});

	it("keeps each Mixtral expert apart and refuses models with different expert counts", async () => {
		const merged = await readModelTensors(join(dir, "mixtral", "out"));
		expect(merged.has("model.layers.2.block_sparse_moe.experts.2.w3.weight")).toBe(true);
		expect(merged.get("model.layers.0.block_sparse_moe.gate.weight")?.length).toBe(3 * 16);
		await makeTinyModel(join(dir, "mixtral-4"), { family: "mixtral", layers: 3, seed: 4, experts: 4 });
		const result = await merge(
			"mixtral-mismatch",
			`merge_method: linear\nmodels:\n  - model: ${join(dir, "mixtral", "a")}\n    parameters: {weight: 1}\n  - model: ${join(dir, "mixtral-4")}\n    parameters: {weight: 1}\n`,
		);
		expect(result.code).toBe(1);
		expect(result.stderr).toMatch(/has 4 experts per layer \(num_local_experts\) but .* has 3/);
	});

	it("writes no lm_head for families that tie it", async () => {
		for (const family of ["gemma2", "gemma3", "cohere"]) {
			expect(existsSync(join(dir, family, "out", "model.safetensors"))).toBe(true);
			expect((await readModelTensors(join(dir, family, "out"))).has("lm_head.weight"), family).toBe(false);
		}
	});
});
