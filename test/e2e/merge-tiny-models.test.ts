import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTinyModel, type TinyFamily } from "../../src/fixtures/make-tiny-model.js";
import { readModelTensors } from "../helpers/read-model-tensors.js";
import { runCli } from "../helpers/run-cli.js";

let dir: string;
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-e2e-"));
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

async function merge(name: string, recipe: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
	const caseDir = join(dir, name);
	await mkdir(caseDir, { recursive: true });
	const recipePath = join(caseDir, "recipe.yml");
	await writeFile(recipePath, recipe);
	const out = join(caseDir, "out");
	const result = await runCli(["merge", recipePath, "--out", out, ...extra], {
		HF_HUB_CACHE: join(dir, "empty-cache"),
		...env,
	});
	return { ...result, out, recipePath };
}

describe.each<TinyFamily>(["llama", "mistral", "qwen2", "gemma2", "phi3"])("a %s merge", (family) => {
	it("merges three tiny models with TIES, gradients and filters, and writes the whole model folder", async () => {
		const models = join(dir, `${family}-models`);
		const common = { family, layers: 3, seed: 7, license: "apache-2.0" } as const;
		await makeTinyModel(join(models, "base"), common);
		await makeTinyModel(join(models, "a"), { ...common, drift: { seed: 1, scale: 0.05 } });
		await makeTinyModel(join(models, "b"), { ...common, drift: { seed: 2, scale: 0.05 } });
		const result = await merge(
			`${family}-ties`,
			`merge_method: ties
base_model: ${join(models, "base")}
models:
  - model: ${join(models, "a")}
    parameters: {density: 0.5, weight: [0.2, 1.0]}
  - model: ${join(models, "b")}
    parameters:
      density: 0.7
      weight: [{filter: mlp, value: 0.8}, {value: 0.4}]
dtype: bfloat16
`,
			["--random-seed", "3"],
		);
		expect(result.stderr).toBe("");
		expect(result.code).toBe(0);
		const files = (await readdir(result.out)).sort();
		expect(files).toEqual(
			[
				"README.md",
				"charts",
				"config.json",
				"generation_config.json",
				"merge-report.json",
				"mergekit_config.yml",
				"model.safetensors",
				"tokenizer.json",
				"tokenizer_config.json",
			].sort(),
		);
		const base = await readModelTensors(join(models, "base"));
		const merged = await readModelTensors(result.out);
		expect([...merged.keys()].sort()).toEqual([...base.keys()].sort());
		const config = JSON.parse(await readFile(join(result.out, "config.json"), "utf8")) as Record<string, unknown>;
		expect(config.torch_dtype).toBe("bfloat16");
		expect(config.num_hidden_layers).toBe(3);
		const card = await readFile(join(result.out, "README.md"), "utf8");
		expect(card).toContain("license: apache-2.0");
		expect(card).toContain("[TIES](https://arxiv.org/abs/2306.01708)");
	});
});

describe("planning rules end to end", () => {
	let models: string;
	beforeAll(async () => {
		models = join(dir, "llama-models");
		const common = { family: "llama", layers: 4, seed: 11 } as const;
		await makeTinyModel(join(models, "base"), common);
		await makeTinyModel(join(models, "a"), { ...common, drift: { seed: 4, scale: 0.1 } });
		await makeTinyModel(join(models, "b"), { ...common, drift: { seed: 5, scale: 0.1 } });
		await makeTinyModel(join(models, "deep"), { ...common, layers: 6, drift: { seed: 6, scale: 0.1 } });
	});

	it("gives the same weights whether the base is listed in `models:` or added automatically", async () => {
		const body = (listed: boolean) => `merge_method: task_arithmetic
base_model: ${join(models, "base")}
models:
${listed ? `  - model: ${join(models, "base")}\n` : ""}  - model: ${join(models, "a")}
    parameters: {weight: 0.7}
  - model: ${join(models, "b")}
    parameters: {weight: 0.3}
`;
		const listed = await merge("base-listed", body(true));
		const added = await merge("base-added", body(false));
		expect(listed.code).toBe(0);
		expect(added.code).toBe(0);
		const x = await readModelTensors(listed.out);
		const y = await readModelTensors(added.out);
		for (const [name, values] of x) {
			expect([...values], name).toEqual([...(y.get(name) ?? [])]);
		}
		const base = await readModelTensors(join(models, "base"));
		const a = await readModelTensors(join(models, "a"));
		const b = await readModelTensors(join(models, "b"));
		const name = "model.layers.2.self_attn.o_proj.weight";
		const i = 5;
		const expected =
			(base.get(name)?.[i] ?? 0) +
			0.7 * ((a.get(name)?.[i] ?? 0) - (base.get(name)?.[i] ?? 0)) +
			0.3 * ((b.get(name)?.[i] ?? 0) - (base.get(name)?.[i] ?? 0));
		expect(x.get(name)?.[i]).toBeCloseTo(expected, 6);
	});

	it("stacks layers from `slices:`, renumbers them and records the new layer count", async () => {
		const result = await merge(
			"frankenmerge",
			`merge_method: passthrough
slices:
  - sources:
      - model: ${join(models, "a")}
        layer_range: [0, 3]
  - sources:
      - model: ${join(models, "deep")}
        layer_range: [2, 6]
dtype: float32
`,
		);
		expect(result.stderr).toBe("");
		expect(result.code).toBe(0);
		const config = JSON.parse(await readFile(join(result.out, "config.json"), "utf8")) as { num_hidden_layers: number };
		expect(config.num_hidden_layers).toBe(7);
		const merged = await readModelTensors(result.out);
		const a = await readModelTensors(join(models, "a"));
		const deep = await readModelTensors(join(models, "deep"));
		expect(merged.get("model.layers.6.mlp.up_proj.weight")).toEqual(deep.get("model.layers.5.mlp.up_proj.weight"));
		expect(merged.get("model.layers.3.mlp.up_proj.weight")).toEqual(deep.get("model.layers.2.mlp.up_proj.weight"));
		expect(merged.get("model.layers.2.mlp.up_proj.weight")).toEqual(a.get("model.layers.2.mlp.up_proj.weight"));
		expect(merged.get("model.embed_tokens.weight")).toEqual(a.get("model.embed_tokens.weight"));
		expect(merged.get("lm_head.weight")).toEqual(deep.get("lm_head.weight"));
		expect(merged.has("model.layers.7.mlp.up_proj.weight")).toBe(false);
	});

	it("writes sharded output with an index that reads back to the same tensors", async () => {
		const recipe = `merge_method: linear
models:
  - model: ${join(models, "a")}
    parameters: {weight: 1}
  - model: ${join(models, "b")}
    parameters: {weight: 1}
`;
		const whole = await merge("unsharded", recipe);
		const sharded = await merge("sharded", recipe, ["--out-shard-size", "4K"]);
		expect(sharded.code).toBe(0);
		const files = await readdir(sharded.out);
		const shards = files.filter((file) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(file));
		expect(shards.length).toBeGreaterThan(2);
		expect(files).toContain("model.safetensors.index.json");
		expect(files).not.toContain("model.safetensors");
		const index = JSON.parse(await readFile(join(sharded.out, "model.safetensors.index.json"), "utf8")) as {
			metadata: { total_size: number };
		};
		const a = await readModelTensors(whole.out);
		const b = await readModelTensors(sharded.out);
		expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
		let total = 0;
		for (const [name, values] of a) {
			expect(b.get(name), name).toEqual(values);
			total += values.length * 4;
		}
		expect(index.metadata.total_size).toBe(total);
	});

	it("refuses models of different depths in the `models:` form before reading weights", async () => {
		const result = await merge(
			"depth-mismatch",
			`merge_method: linear
models:
  - model: ${join(models, "a")}
    parameters: {weight: 1}
  - model: ${join(models, "deep")}
    parameters: {weight: 1}
`,
		);
		expect(result.code).toBe(1);
		expect(result.stderr).toMatch(
			/line 3: every model of a `models:` merge must have the same number of layers .* has 4, .* has 6/,
		);
		expect(existsSync(result.out)).toBe(false);
	});

	it("prints the plan with --dry-run and writes nothing", async () => {
		const result = await merge(
			"dry-run",
			`merge_method: slerp
base_model: ${join(models, "a")}
models:
  - model: ${join(models, "b")}
parameters:
  t: 0.5
`,
			["--dry-run"],
		);
		expect(result.code).toBe(0);
		expect(result.stdout).toMatch(/tensors: 39/);
		expect(result.stdout).toMatch(/bytes to read: /);
		expect(result.stdout).toMatch(/estimated peak memory: /);
		expect(result.stdout).toMatch(/\[base\]: local folder/);
		expect(existsSync(result.out)).toBe(false);
	});

	it("reproduces a DARE merge bit for bit with the same seed and differs with another", async () => {
		const recipe = `merge_method: dare_ties
base_model: ${join(models, "base")}
models:
  - model: ${join(models, "a")}
    parameters: {weight: 0.5, density: 0.3}
  - model: ${join(models, "b")}
    parameters: {weight: 0.5, density: 0.3}
`;
		const first = await merge("dare-1", recipe, ["--random-seed", "9"]);
		const again = await merge("dare-2", recipe, ["--random-seed", "9"]);
		const other = await merge("dare-3", recipe, ["--random-seed", "10"]);
		expect(first.code).toBe(0);
		const [x, y, z] = await Promise.all([
			readFile(join(first.out, "model.safetensors")),
			readFile(join(again.out, "model.safetensors")),
			readFile(join(other.out, "model.safetensors")),
		]);
		expect(x.equals(y)).toBe(true);
		expect(x.equals(z)).toBe(false);
		expect(await readFile(join(first.out, "README.md"), "utf8")).toContain("Random seed: 9 (command line)");
	});
});

describe("models from the Hugging Face cache", () => {
	it("runs a recipe that names Hub repos from the cache layout with HF_HUB_OFFLINE=1 and records their commits", async () => {
		const cache = join(dir, "hf-cache");
		const sha = (n: number) => String(n).repeat(40);
		const repos: [string, number, number][] = [
			["mistralai/Mistral-7B-v0.1", 1, 0],
			["mistralai/Mistral-7B-Instruct-v0.2", 2, 0.05],
			["BioMistral/BioMistral-7B", 3, 0.05],
		];
		for (const [repo, n, drift] of repos) {
			const repoDir = join(cache, `models--${repo.replace("/", "--")}`);
			await makeTinyModel(join(repoDir, "snapshots", sha(n)), {
				family: "mistral",
				layers: 2,
				seed: 1,
				license: "apache-2.0",
				...(drift ? { drift: { seed: n, scale: drift } } : {}),
			});
			await mkdir(join(repoDir, "refs"), { recursive: true });
			await writeFile(join(repoDir, "refs", "main"), sha(n));
		}
		// examples/bio-merge.yml from mergekit's repository, as users paste it.
		const result = await merge(
			"hub-cache",
			`models:
  - model: mistralai/Mistral-7B-Instruct-v0.2
    parameters:
      density: 0.5
      weight: 0.5
  - model: BioMistral/BioMistral-7B
    parameters:
      density: 0.5
      weight: 0.5
merge_method: ties
base_model: mistralai/Mistral-7B-v0.1
parameters:
  normalize: false
  int8_mask: true
dtype: float16
`,
			[],
			{ HF_HUB_CACHE: cache, HF_HUB_OFFLINE: "1" },
		);
		expect(result.stderr).toBe("");
		expect(result.code).toBe(0);
		const card = await readFile(join(result.out, "README.md"), "utf8");
		expect(card).toMatch(
			/base_model:\n {2}- BioMistral\/BioMistral-7B\n {2}- mistralai\/Mistral-7B-Instruct-v0.2\n {2}- mistralai\/Mistral-7B-v0.1\n/,
		);
		expect(card).toContain("base_model_relation: merge");
		expect(card).toContain(sha(3));
	});

	it("names what is missing from the cache when offline", async () => {
		const result = await merge(
			"hub-missing",
			"merge_method: linear\nmodels:\n  - model: nobody/nothing\n    parameters: {weight: 1}\n",
			[],
			{
				HF_HUB_CACHE: join(dir, "hf-cache"),
				HF_HUB_OFFLINE: "1",
			},
		);
		expect(result.code).toBe(1);
		expect(result.stderr).toMatch(
			/line 3: model nobody\/nothing: not found locally or in the Hugging Face cache .*HF_HUB_OFFLINE/,
		);
	});
});

describe("the model card and carried files", () => {
	it("asks a person to confirm the licence when the parents disagree, and lists every parameter", async () => {
		const models = join(dir, "licence-models");
		await makeTinyModel(join(models, "llama"), { family: "llama", layers: 2, seed: 1, license: "llama3.1" });
		await makeTinyModel(join(models, "apache"), { family: "llama", layers: 2, seed: 2, license: "apache-2.0" });
		await makeTinyModel(join(models, "none"), { family: "llama", layers: 2, seed: 3 });
		const result = await merge(
			"licence",
			`merge_method: model_stock
base_model: ${join(models, "llama")}
models:
  - model: ${join(models, "apache")}
  - model: ${join(models, "none")}
`,
		);
		expect(result.code).toBe(0);
		const card = await readFile(join(result.out, "README.md"), "utf8");
		expect(card).toContain("license: other");
		expect(card).toMatch(/Licence to confirm.*: llama3\.1.*none declared/s);
		expect(card).toMatch(/Licence to confirm.*: apache-2\.0/s);
		expect(card).toContain("[Model Stock](https://arxiv.org/abs/2403.19522)");
		expect(card).toContain("| `filter_wise` | whole merge | false (default) |");
		expect(await readFile(join(result.out, "mergekit_config.yml"), "utf8")).toContain("merge_method: model_stock");
	});

	it("merges tied and untied embeddings: tied models give their embedding matrix as lm_head", async () => {
		const models = join(dir, "tied-models");
		await makeTinyModel(join(models, "tied"), { family: "llama", layers: 2, seed: 1, tieEmbeddings: true });
		await makeTinyModel(join(models, "untied"), { family: "llama", layers: 2, seed: 2 });
		const result = await merge(
			"tied",
			`merge_method: linear
models:
  - model: ${join(models, "tied")}
    parameters: {weight: 0.5}
  - model: ${join(models, "untied")}
    parameters: {weight: 0.5}
`,
		);
		expect(result.code).toBe(0);
		const merged = await readModelTensors(result.out);
		const tied = await readModelTensors(join(models, "tied"));
		const untied = await readModelTensors(join(models, "untied"));
		const head = merged.get("lm_head.weight");
		const embed = tied.get("model.embed_tokens.weight");
		const otherHead = untied.get("lm_head.weight");
		expect(head && embed && otherHead).toBeTruthy();
		expect(head?.[3]).toBeCloseTo(0.5 * (embed?.[3] ?? 0) + 0.5 * (otherHead?.[3] ?? 0), 6);
	});
});
