import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addLowRankProduct } from "../../src/execute/add-low-rank-product.js";
import { makeTinyAdapter } from "../../src/fixtures/make-tiny-adapter.js";
import { makeTinyModel } from "../../src/fixtures/make-tiny-model.js";
import { parseAdapterConfig } from "../../src/models/parse-adapter-config.js";
import { SafetensorsFile } from "../../src/safetensors/safetensors-file.js";
import { readModelTensors } from "../helpers/read-model-tensors.js";
import { runMain } from "../helpers/run-main.js";

let dir: string;
let base: string;
let other: string;

async function tensor(path: string, name: string): Promise<{ data: Float32Array; shape: number[] }> {
	const file = await SafetensorsFile.open(path);
	const data = await file.readFloat32(name);
	const shape = file.info(name).shape;
	await file.close();
	return { data, shape };
}

/** W + scaling·B·A in float64, rounded once to float32 (exact for the fixture's dyadic values). */
function expectedUpdate(
	w: Float32Array,
	a: { data: Float32Array; shape: number[] },
	b: { data: Float32Array; shape: number[] },
	scaling: number,
	transpose = false,
): Float32Array {
	const [m = 0, r = 0] = b.shape;
	const n = a.shape[1] ?? 0;
	const out = new Float32Array(w.length);
	for (let i = 0; i < m; i++) {
		for (let j = 0; j < n; j++) {
			let sum = 0;
			for (let k = 0; k < r; k++) {
				sum += (b.data[i * r + k] as number) * (a.data[k * n + j] as number);
			}
			const index = transpose ? j * m + i : i * n + j;
			out[index] = (w[index] as number) + scaling * sum;
		}
	}
	return out;
}

async function mergeRecipe(name: string, recipe: string, env: NodeJS.ProcessEnv = {}) {
	const caseDir = join(dir, name);
	await mkdir(caseDir, { recursive: true });
	const file = join(caseDir, "recipe.yml");
	await writeFile(file, recipe);
	const out = join(caseDir, "out");
	const result = await runMain(["merge", file, "--out", out], { HF_HUB_CACHE: join(dir, "empty-cache"), ...env });
	return { ...result, out };
}

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-lora-"));
	base = join(dir, "base");
	other = join(dir, "other");
	await makeTinyModel(base, { family: "llama", layers: 2, seed: 3 });
	await makeTinyModel(other, { family: "llama", layers: 2, seed: 3, drift: { seed: 9, scale: 0.05 } });
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

describe("addLowRankProduct", () => {
	it("adds scaling·B·A and its transpose exactly", () => {
		const b = Float32Array.from([1, 2, 3, 4, 5, 6]); // 3×2
		const a = Float32Array.from([1, 0, -1, 2, 1, 0, 0.5, 0.25]); // 2×4
		const plain = new Float32Array(12).fill(1);
		addLowRankProduct(plain, b, a, 3, 2, 4, 0.5, false);
		// Row 0 of B·A: 1·[1, 0, -1, 2] + 2·[1, 0, 0.5, 0.25] = [3, 0, 0, 2.5].
		expect([...plain.slice(0, 4)]).toEqual([2.5, 1, 1, 2.25]);
		const transposed = new Float32Array(12).fill(1);
		addLowRankProduct(transposed, b, a, 3, 2, 4, 0.5, true);
		// Column 0 of the 4×3 target is row 0 of B·A.
		expect([transposed[0], transposed[3], transposed[6], transposed[9]]).toEqual([2.5, 1, 1, 2.25]);
	});
});

describe("parseAdapterConfig", () => {
	it("reads PEFT's defaults and refuses what it cannot apply", () => {
		const config = parseAdapterConfig({ peft_type: "LORA" });
		expect(config).toMatchObject({ r: 8, alpha: 8, useRslora: false, fanInFanOut: false });
		expect(parseAdapterConfig({ peft_type: "LORA", use_dora: true })).toMatch(/DoRA/);
		expect(parseAdapterConfig({ peft_type: "LOHA" })).toMatch(/LOHA adapter.*LoRA adapters only/);
		expect(parseAdapterConfig({ peft_type: "LORA", init_lora_weights: "pissa" })).toMatch(/pissa/);
		expect(parseAdapterConfig({ peft_type: "LORA", layer_replication: [[0, 2]] })).toMatch(/layer_replication/);
		expect(parseAdapterConfig({ peft_type: "LORA", r: 0 })).toMatch(/rank/);
		expect(parseAdapterConfig({ r: 8 })).toMatch(/peft_type/);
	});
});

describe("model+adapter references", () => {
	it("applies W + (alpha/r)·B·A to the target modules and leaves every other tensor alone", async () => {
		const adapter = join(dir, "adapter-plain");
		await makeTinyAdapter(adapter, { model: base, r: 4, alpha: 8, targetModules: ["q_proj", "v_proj", "down_proj"] });
		const result = await mergeRecipe(
			"plain",
			`merge_method: passthrough\nmodels:\n  - model: ${base}+${adapter}\ndtype: float32\n`,
		);
		expect(result.stderr).toBe("");
		expect(result.code).toBe(0);
		const merged = await readModelTensors(result.out);
		const original = await readModelTensors(base);
		const weights = join(adapter, "adapter_model.safetensors");
		for (const module of ["model.layers.1.self_attn.q_proj", "model.layers.0.mlp.down_proj"]) {
			const a = await tensor(weights, `base_model.model.${module}.lora_A.weight`);
			const b = await tensor(weights, `base_model.model.${module}.lora_B.weight`);
			const expected = expectedUpdate(original.get(`${module}.weight`) ?? new Float32Array(), a, b, 8 / 4);
			expect([...(merged.get(`${module}.weight`) ?? [])], module).toEqual([...expected]);
			expect(expected).not.toEqual(original.get(`${module}.weight`));
		}
		for (const name of ["model.layers.0.self_attn.k_proj.weight", "model.embed_tokens.weight", "lm_head.weight"]) {
			expect([...(merged.get(name) ?? [])], name).toEqual([...(original.get(name) ?? [])]);
		}
	});

	it("scales rank-stabilised adapters by alpha/√r, and honours rank_pattern and alpha_pattern", async () => {
		const adapter = join(dir, "adapter-rslora");
		await makeTinyAdapter(adapter, {
			model: base,
			r: 4,
			alpha: 6,
			useRslora: true,
			targetModules: ["q_proj", "o_proj"],
			rankPattern: { o_proj: 2 },
			alphaPattern: { "layers.1.self_attn.q_proj": 10 },
		});
		const result = await mergeRecipe("rslora", `merge_method: passthrough\nmodels:\n  - model: ${base}+${adapter}\n`);
		expect(result.code, result.stderr).toBe(0);
		const merged = await readModelTensors(result.out);
		const original = await readModelTensors(base);
		const weights = join(adapter, "adapter_model.safetensors");
		const cases: [string, number][] = [
			["model.layers.0.self_attn.q_proj", 6 / Math.sqrt(4)],
			["model.layers.1.self_attn.q_proj", 10 / Math.sqrt(4)],
			["model.layers.1.self_attn.o_proj", 6 / Math.sqrt(2)],
		];
		for (const [module, scaling] of cases) {
			const a = await tensor(weights, `base_model.model.${module}.lora_A.weight`);
			const b = await tensor(weights, `base_model.model.${module}.lora_B.weight`);
			const expected = expectedUpdate(original.get(`${module}.weight`) ?? new Float32Array(), a, b, scaling);
			expect([...(merged.get(`${module}.weight`) ?? [])], module).toEqual([...expected]);
		}
	});

	it("applies embedding LoRAs transposed and replaces modules_to_save", async () => {
		const adapter = join(dir, "adapter-embed");
		await makeTinyAdapter(adapter, {
			model: base,
			r: 2,
			alpha: 2,
			targetModules: ["embed_tokens"],
			modulesToSave: ["lm_head"],
		});
		const result = await mergeRecipe("embed", `merge_method: passthrough\nmodels:\n  - model: ${base}+${adapter}\n`);
		expect(result.code, result.stderr).toBe(0);
		const merged = await readModelTensors(result.out);
		const original = await readModelTensors(base);
		const weights = join(adapter, "adapter_model.safetensors");
		const a = await tensor(weights, "base_model.model.model.embed_tokens.lora_embedding_A");
		const b = await tensor(weights, "base_model.model.model.embed_tokens.lora_embedding_B");
		const expected = expectedUpdate(original.get("model.embed_tokens.weight") ?? new Float32Array(), a, b, 1, true);
		expect([...(merged.get("model.embed_tokens.weight") ?? [])]).toEqual([...expected]);
		const saved = await tensor(weights, "base_model.model.lm_head.weight");
		expect([...(merged.get("lm_head.weight") ?? [])]).toEqual([...saved.data]);
	});

	it("merges a LoRA-adapted model with another like the merged model PEFT would save", async () => {
		const adapter = join(dir, "adapter-linear");
		await makeTinyAdapter(adapter, { model: base, r: 4, alpha: 4 });
		const result = await mergeRecipe(
			"linear",
			`merge_method: linear\nmodels:\n  - model: ${base}+${adapter}\n    parameters: {weight: 0.5}\n  - model: ${other}\n    parameters: {weight: 0.5}\n`,
		);
		expect(result.code, result.stderr).toBe(0);
		const merged = await readModelTensors(result.out);
		const original = await readModelTensors(base);
		const second = await readModelTensors(other);
		const module = "model.layers.0.self_attn.v_proj";
		const weights = join(adapter, "adapter_model.safetensors");
		const a = await tensor(weights, `base_model.model.${module}.lora_A.weight`);
		const b = await tensor(weights, `base_model.model.${module}.lora_B.weight`);
		const adapted = expectedUpdate(original.get(`${module}.weight`) ?? new Float32Array(), a, b, 1);
		const values = merged.get(`${module}.weight`) ?? new Float32Array();
		adapted.forEach((value, i) => {
			expect(values[i]).toBeCloseTo(0.5 * value + 0.5 * (second.get(`${module}.weight`)?.[i] ?? 0), 6);
		});
	});

	it("finds Hub adapters in the cache, records their revision and lists them as parents", async () => {
		const cache = join(dir, "hf-cache");
		const sha = (n: number) => String(n).repeat(40);
		const snapshot = async (repo: string, n: number): Promise<string> => {
			const repoDir = join(cache, `models--${repo.replace("/", "--")}`);
			await mkdir(join(repoDir, "refs"), { recursive: true });
			await writeFile(join(repoDir, "refs", "main"), sha(n));
			return join(repoDir, "snapshots", sha(n));
		};
		const model = await snapshot("meta-llama/Meta-Llama-3-8B-Instruct", 1);
		await makeTinyModel(model, { family: "llama", layers: 2, seed: 3, license: "llama3" });
		await makeTinyAdapter(await snapshot("someone/llama3-lora", 2), {
			model,
			license: "llama3",
			baseModel: "meta-llama/Meta-Llama-3-8B-Instruct",
		});
		const result = await mergeRecipe(
			"hub",
			"merge_method: passthrough\nmodels:\n  - model: meta-llama/Meta-Llama-3-8B-Instruct+someone/llama3-lora\n",
			{ HF_HUB_CACHE: cache },
		);
		expect(result.stderr).toBe("");
		expect(result.code).toBe(0);
		const card = await readFile(join(result.out, "README.md"), "utf8");
		expect(card).toMatch(/base_model:\n {2}- meta-llama\/Meta-Llama-3-8B-Instruct\n {2}- someone\/llama3-lora\n/);
		expect(card).toContain(
			"[meta-llama/Meta-Llama-3-8B-Instruct](https://huggingface.co/meta-llama/Meta-Llama-3-8B-Instruct) + [someone/llama3-lora](https://huggingface.co/someone/llama3-lora)",
		);
		expect(card).toContain(`\`${sha(1)}\`; LoRA adapter: \`${sha(2)}\``);
		expect(card).toContain("license: llama3");
	});
});

describe("adapters that cannot be applied", () => {
	const refuse = async (name: string, options: Parameters<typeof makeTinyAdapter>[1], message: RegExp) => {
		const adapter = join(dir, `refused-${name}`);
		await makeTinyAdapter(adapter, options);
		const result = await mergeRecipe(
			`refused-${name}`,
			`merge_method: linear\nmodels:\n  - model: ${base}+${adapter}\n    parameters: {weight: 1}\n`,
		);
		expect(result.code).toBe(1);
		expect(result.stderr).toMatch(new RegExp(`line 3: model ${base}\\+${adapter}: LoRA adapter ${adapter}: `));
		expect(result.stderr).toMatch(message);
	};

	it("refuses DoRA, other PEFT methods and LoRA variants, naming the recipe line", async () => {
		await refuse("dora", { model: base, configOverrides: { use_dora: true } }, /DoRA/);
		await refuse("loha", { model: base, configOverrides: { peft_type: "LOHA" } }, /LOHA adapter/);
		await refuse("olora", { model: base, configOverrides: { init_lora_weights: "olora" } }, /olora/);
	});

	it("refuses adapters made for another model, and modules_to_save that do not fit", async () => {
		const small = join(dir, "small");
		await makeTinyModel(small, { family: "llama", layers: 2, hidden: 8, intermediate: 12, seed: 1 });
		await refuse(
			"other-model",
			{ model: small },
			/update for model\.layers\.0\.self_attn\.(q|v)_proj has shape \[8,8\] but .* is \[16,16\]/,
		);
		const deeper = join(dir, "deeper");
		await makeTinyModel(deeper, { family: "llama", layers: 3, seed: 1 });
		await refuse("deeper", { model: deeper }, /changes model\.layers\.2\..* which .* does not have/);
		const bigger = join(dir, "bigger-vocab");
		await makeTinyModel(bigger, { family: "llama", layers: 2, vocab: 40, seed: 1 });
		await refuse("resized", { model: bigger, targetModules: [], modulesToSave: ["lm_head"] }, /resized the vocabulary/);
	});

	it("says when the part after + is not an adapter", async () => {
		const result = await mergeRecipe(
			"not-adapter",
			`merge_method: linear\nmodels:\n  - model: ${base}+${other}\n    parameters: {weight: 1}\n`,
		);
		expect(result.code).toBe(1);
		expect(result.stderr).toMatch(/is a whole model, not a PEFT adapter/);
	});
});
