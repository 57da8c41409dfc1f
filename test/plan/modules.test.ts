import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { counterUniform } from "../../src/execute/counter-random.js";
import { makeTinyModel } from "../../src/fixtures/make-tiny-model.js";
import { type InMemoryTensor, writeSafetensorsFile } from "../../src/safetensors/write-safetensors-file.js";
import { readModelTensors } from "../helpers/read-model-tensors.js";
import { runMain } from "../helpers/run-main.js";

let dir: string;

/** A model no family table knows, laid out like Llava: a language model and a vision tower, each with layers. */
async function makeTinyVlm(path: string, seed: number): Promise<void> {
	const names = [
		"language_model.model.embed_tokens.weight",
		"language_model.lm_head.weight",
		"multi_modal_projector.linear_1.weight",
		...[0, 1, 2].flatMap((layer) => [
			`language_model.model.layers.${layer}.self_attn.q_proj.weight`,
			`language_model.model.layers.${layer}.mlp.down_proj.weight`,
		]),
		...[0, 1].flatMap((layer) => [
			`vision_tower.vision_model.encoder.layers.${layer}.mlp.fc1.weight`,
			`vision_tower.vision_model.encoder.layers.${layer}.layer_norm1.weight`,
		]),
	];
	const tensors: Record<string, InMemoryTensor> = {};
	for (const name of names) {
		const uniform = counterUniform(seed, name, "vlm");
		tensors[name] = { dtype: "F32", shape: [4, 4], data: Float32Array.from({ length: 16 }, (_, i) => uniform(i)) };
	}
	await mkdir(path, { recursive: true });
	await writeSafetensorsFile(join(path, "model.safetensors"), tensors);
	await writeFile(
		join(path, "config.json"),
		JSON.stringify({ architectures: ["LlavaForConditionalGeneration"], model_type: "llava" }),
	);
}

async function merge(name: string, recipe: string) {
	const caseDir = join(dir, name);
	await mkdir(caseDir, { recursive: true });
	const file = join(caseDir, "recipe.yml");
	await writeFile(file, recipe);
	const out = join(caseDir, "out");
	const result = await runMain(["merge", file, "--out", out], { HF_HUB_CACHE: join(dir, "empty-cache") });
	return { ...result, out };
}

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-modules-"));
	await makeTinyModel(join(dir, "a"), { family: "mistral", layers: 2, seed: 1 });
	await makeTinyModel(join(dir, "b"), { family: "mistral", layers: 2, seed: 2 });
	await makeTinyVlm(join(dir, "vlm-a"), 1);
	await makeTinyVlm(join(dir, "vlm-b"), 2);
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

describe("the modules: form", () => {
	it("merges the one module of a family model, with module parameters between model and top-level ones", async () => {
		const result = await merge(
			"default-module",
			`merge_method: linear
modules:
  default:
    models:
      - model: ${join(dir, "a")}
      - model: ${join(dir, "b")}
        parameters:
          weight: [{filter: mlp, value: 3}]
    parameters:
      weight: 1
      normalize: false
parameters:
  weight: 100
  normalize: true
`,
		);
		expect(result.stderr).toBe("");
		expect(result.code).toBe(0);
		const [a, b, merged] = await Promise.all([join(dir, "a"), join(dir, "b"), result.out].map(readModelTensors));
		// a gets the module's weight 1; b gets 3 on MLP tensors (its own) and 1 elsewhere (the module's); normalize is the module's false.
		for (const [name, wb] of [
			["model.layers.1.mlp.up_proj.weight", 3],
			["model.layers.1.self_attn.k_proj.weight", 1],
		] as const) {
			const i = 7;
			expect(merged?.get(name)?.[i]).toBeCloseTo((a?.get(name)?.[i] ?? 0) + wb * (b?.get(name)?.[i] ?? 0), 5);
		}
	});

	it("names the modules a model has when the recipe names another", async () => {
		const result = await merge(
			"unknown-module",
			`merge_method: linear\nmodules:\n  text_decoder:\n    models:\n      - model: ${join(dir, "a")}\n        parameters: {weight: 1}\n`,
		);
		expect(result.code).toBe(1);
		expect(result.stderr).toMatch(
			/line 4: `modules.text_decoder` is not a module of these models \(a mistral model has one module: `default`\)/,
		);
	});

	it("treats each layer prefix of an unknown multi-module model as a module, with its own gradient positions", async () => {
		const result = await merge(
			"vlm-models",
			`merge_method: slerp
base_model: ${join(dir, "vlm-a")}
models:
  - model: ${join(dir, "vlm-a")}
  - model: ${join(dir, "vlm-b")}
parameters:
  t: [0, 1]
`,
		);
		expect(result.code, result.stderr).toBe(0);
		const [a, b, merged] = await Promise.all(
			[join(dir, "vlm-a"), join(dir, "vlm-b"), result.out].map(readModelTensors),
		);
		// 2 vision layers: layer 1 sits at t = 1; 3 language layers: layer 2 at t = 1, layer 1 at t = 0.5.
		const vision = "vision_tower.vision_model.encoder.layers.1.mlp.fc1.weight";
		expect([...(merged?.get(vision) ?? [])]).toEqual([...(b?.get(vision) ?? [])]);
		const last = "language_model.model.layers.2.mlp.down_proj.weight";
		expect([...(merged?.get(last) ?? [])]).toEqual([...(b?.get(last) ?? [])]);
		const middle = "language_model.model.layers.1.mlp.down_proj.weight";
		expect([...(merged?.get(middle) ?? [])]).not.toEqual([...(b?.get(middle) ?? [])]);
		const projector = "multi_modal_projector.linear_1.weight";
		expect([...(merged?.get(projector) ?? [])]).toEqual([...(a?.get(projector) ?? [])]);
	});

	it("stacks slices in one module and merges another whole", async () => {
		const result = await merge(
			"vlm-modules",
			`merge_method: passthrough
modules:
  language_model.model.layers:
    slices:
      - sources:
          - model: ${join(dir, "vlm-a")}
            layer_range: [0, 2]
      - sources:
          - model: ${join(dir, "vlm-b")}
            layer_range: [1, 3]
  vision_tower.vision_model.encoder.layers:
    models:
      - model: ${join(dir, "vlm-b")}
  default:
    models:
      - model: ${join(dir, "vlm-a")}
`,
		);
		expect(result.code, result.stderr).toBe(0);
		expect(result.stderr).toMatch(
			/the output has 4 layers of module `language_model.model.layers` but its config.json has no layer-count key/,
		);
		const [a, b, merged] = await Promise.all(
			[join(dir, "vlm-a"), join(dir, "vlm-b"), result.out].map(readModelTensors),
		);
		const layer = (n: number) => `language_model.model.layers.${n}.self_attn.q_proj.weight`;
		expect([...(merged?.get(layer(3)) ?? [])]).toEqual([...(b?.get(layer(2)) ?? [])]);
		expect([...(merged?.get(layer(1)) ?? [])]).toEqual([...(a?.get(layer(1)) ?? [])]);
		const vision = "vision_tower.vision_model.encoder.layers.0.layer_norm1.weight";
		expect([...(merged?.get(vision) ?? [])]).toEqual([...(b?.get(vision) ?? [])]);
		expect([...(merged?.get("language_model.lm_head.weight") ?? [])]).toEqual([
			...(a?.get("language_model.lm_head.weight") ?? []),
		]);
	});

	it("refuses top-level slices for a model with several modules, and modules the recipe leaves out", async () => {
		const sliced = await merge(
			"vlm-slices",
			`merge_method: passthrough\nslices:\n  - sources:\n      - model: ${join(dir, "vlm-a")}\n        layer_range: [0, 2]\n`,
		);
		expect(sliced.code).toBe(1);
		expect(sliced.stderr).toMatch(/these models have 3 modules .* so `slices:` cannot say which one it stacks/);
		const missing = await merge(
			"vlm-missing",
			`merge_method: passthrough\nmodules:\n  default:\n    models:\n      - model: ${join(dir, "vlm-a")}\n`,
		);
		expect(missing.code).toBe(1);
		expect(missing.stderr).toMatch(/`modules:` has no entry for module `language_model.model.layers`/);
	});
});
