import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTinyModel } from "../../src/fixtures/make-tiny-model.js";
import { SafetensorsFile } from "../../src/safetensors/safetensors-file.js";
import { indexTokenizer } from "../../src/tokenizer/index-tokenizer.js";
import type { FastTokenizer } from "../../src/tokenizer/tokenizer-data.js";
import { runCli } from "../helpers/run-cli.js";

/**
 * mergekit's tests/test_tokenizer.py and tests/test_chat_template.py through the CLI: a base with 64 tokens, a model
 * whose tokenizer has 4 `<UNUSED_i>` tokens beyond its vocab_size, and a ChatML model with 2 more tokens and rows.
 */
const HIDDEN = 8;
const CHATML_TEMPLATE =
	"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";

let dir: string;
let models: { base: string; padded: string; chatml: string; tied: string };
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-tokenizer-"));
	const common = { family: "llama", layers: 2, hidden: HIDDEN, intermediate: 12, seed: 7 } as const;
	models = {
		base: join(dir, "model_base"),
		padded: join(dir, "model_padded"),
		chatml: join(dir, "model_chatml"),
		tied: join(dir, "model_tied"),
	};
	await makeTinyModel(models.base, { ...common, vocab: 64, tokenizer: {} });
	await makeTinyModel(models.padded, {
		...common,
		vocab: 64,
		drift: { seed: 1, scale: 0.05 },
		tokenizer: { added: ["<UNUSED_0>", "<UNUSED_1>", "<UNUSED_2>", "<UNUSED_3>"] },
	});
	await makeTinyModel(models.chatml, {
		...common,
		vocab: 66,
		drift: { seed: 2, scale: 0.05 },
		tokenizer: { size: 64, added: ["<|im_start|>", "<|im_end|>"], chatTemplate: CHATML_TEMPLATE },
	});
	await writeFile(
		join(models.chatml, "generation_config.json"),
		`${JSON.stringify({ eos_token_id: 65, max_new_tokens: 32 }, null, 2)}\n`,
	);
	await makeTinyModel(models.tied, {
		...common,
		vocab: 66,
		drift: { seed: 3, scale: 0.05 },
		tieEmbeddings: true,
		tokenizer: { size: 64, added: ["<|im_start|>", "<|im_end|>"] },
	});
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

async function merge(name: string, recipe: string) {
	const caseDir = join(dir, name);
	await mkdir(caseDir, { recursive: true });
	const recipePath = join(caseDir, "recipe.yml");
	await writeFile(recipePath, recipe);
	const out = join(caseDir, "out");
	const result = await runCli(["merge", recipePath, "--out", out], { HF_HUB_CACHE: join(dir, "empty-cache") });
	return { ...result, out };
}

async function tensors(path: string): Promise<Map<string, { data: Float32Array; shape: number[] }>> {
	const file = await SafetensorsFile.open(join(path, "model.safetensors"));
	const out = new Map<string, { data: Float32Array; shape: number[] }>();
	for (const [name, info] of file.tensors) {
		out.set(name, { data: await file.readFloat32(name), shape: [...info.shape] });
	}
	await file.close();
	return out;
}

function row(matrix: { data: Float32Array; shape: number[] } | undefined, index: number): number[] {
	const width = matrix?.shape[1] ?? 0;
	return [...(matrix?.data.subarray(index * width, (index + 1) * width) ?? [])];
}

async function tokenizerOf(path: string): Promise<FastTokenizer> {
	return indexTokenizer(JSON.parse(await readFile(join(path, "tokenizer.json"), "utf8")));
}

async function jsonOf(path: string, name: string): Promise<Record<string, unknown>> {
	return JSON.parse(await readFile(join(path, name), "utf8")) as Record<string, unknown>;
}

const linear = (modelList: string[], extra: string, base = models.base): string => `merge_method: linear
base_model: ${base}
models:
${modelList.map((model) => `  - model: ${model}\n    parameters: {weight: 1.0}`).join("\n")}
dtype: float32
${extra}`;

describe("tokenizer_source", () => {
	it("union: keeps every model's used tokens, leaves out tokens beyond vocab_size, copies ChatML rows (test_source_union)", async () => {
		const result = await merge(
			"union",
			linear([models.base, models.padded, models.chatml], "tokenizer_source: union\n"),
		);
		expect(result.code, result.stderr).toBe(0);
		expect(result.stderr).toContain("<UNUSED_0>");
		const tokenizer = await tokenizerOf(result.out);
		expect(tokenizer.vocab.size).toBe(66);
		expect(tokenizer.addedTokens).toHaveLength(5);
		expect(tokenizer.vocab.get("<|im_start|>")).toBe(64);
		expect(tokenizer.vocab.get("<|im_end|>")).toBe(65);
		for (let i = 0; i < 4; i++) {
			expect(tokenizer.vocab.has(`<UNUSED_${i}>`)).toBe(false);
		}
		const baseJson = await jsonOf(models.base, "tokenizer.json");
		expect((tokenizer.json.model as { merges: unknown }).merges).toEqual(
			(baseJson.model as { merges: unknown }).merges,
		);
		expect((await jsonOf(result.out, "config.json")).vocab_size).toBe(66);
		const decoder = (await jsonOf(result.out, "tokenizer_config.json")).added_tokens_decoder as Record<string, unknown>;
		expect(Object.keys(decoder)).toEqual(["0", "1", "2", "64", "65"]);
		expect(existsSync(join(result.out, "tokenizer.model"))).toBe(false);

		const merged = await tensors(result.out);
		const base = await tensors(models.base);
		const padded = await tensors(models.padded);
		const chatml = await tensors(models.chatml);
		for (const name of ["model.embed_tokens.weight", "lm_head.weight"]) {
			expect(merged.get(name)?.shape).toEqual([66, HIDDEN]);
			// Only the ChatML model has these tokens, so every model carries its rows and the mean is that row.
			expect(row(merged.get(name), 64)).toEqual(row(chatml.get(name), 64));
			expect(row(merged.get(name), 65)).toEqual(row(chatml.get(name), 65));
			const mean = [0, 1, 2].map(
				(_, j) =>
					((row(base.get(name), 5)[j] as number) +
						(row(padded.get(name), 5)[j] as number) +
						(row(chatml.get(name), 5)[j] as number)) /
					3,
			);
			row(merged.get(name), 5)
				.slice(0, 3)
				.forEach((value, j) => {
					expect(value).toBeCloseTo(mean[j] as number, 6);
				});
		}
	});

	it("base: the base's vocabulary, files copied as they are (test_source_base)", async () => {
		const result = await merge("base", linear([models.base, models.padded, models.chatml], "tokenizer_source: base\n"));
		expect(result.code, result.stderr).toBe(0);
		const tokenizer = await tokenizerOf(result.out);
		expect(tokenizer.vocab.size).toBe(64);
		expect(tokenizer.addedTokens).toHaveLength(3);
		expect(await readFile(join(result.out, "tokenizer.json"), "utf8")).toBe(
			await readFile(join(models.base, "tokenizer.json"), "utf8"),
		);
		expect((await jsonOf(result.out, "config.json")).vocab_size).toBe(64);
		const merged = await tensors(result.out);
		expect(merged.get("model.embed_tokens.weight")?.shape).toEqual([64, HIDDEN]);
	});

	it("a model: that model's tokenizer and generation_config.json (test_source_model)", async () => {
		const result = await merge(
			"model-source",
			linear([models.base, models.padded, models.chatml], `tokenizer_source: ${models.chatml}\n`),
		);
		expect(result.code, result.stderr).toBe(0);
		const tokenizer = await tokenizerOf(result.out);
		expect(tokenizer.vocab.size).toBe(66);
		expect(tokenizer.vocab.has("<|im_start|>")).toBe(true);
		for (const name of ["tokenizer.json", "tokenizer_config.json", "generation_config.json"]) {
			expect(await readFile(join(result.out, name), "utf8"), name).toBe(
				await readFile(join(models.chatml, name), "utf8"),
			);
		}
		const merged = await tensors(result.out);
		const chatml = await tensors(models.chatml);
		expect(row(merged.get("model.embed_tokens.weight"), 64)).toEqual(row(chatml.get("model.embed_tokens.weight"), 64));
	});

	it("a model outside the merge: its tokenizer files only, and the plan says so", async () => {
		const recipe = linear([models.base, models.chatml], `tokenizer_source: ${models.tied}\n`);
		const recipePath = join(dir, "outside-source.yml");
		await writeFile(recipePath, recipe);
		const dry = await runCli(["merge", recipePath, "--dry-run"]);
		expect(dry.code, dry.stderr).toBe(0);
		expect(dry.stdout).toContain(`tokenizer: ${models.tied}'s tokenizer: 66 tokens`);
		const result = await merge("outside-source", recipe);
		expect(result.code, result.stderr).toBe(0);
		expect(await readFile(join(result.out, "tokenizer.json"), "utf8")).toBe(
			await readFile(join(models.tied, "tokenizer.json"), "utf8"),
		);
		const merged = await tensors(result.out);
		const chatml = await tensors(models.chatml);
		// Only the ChatML model of the two merged has the token.
		expect(row(merged.get("lm_head.weight"), 65)).toEqual(row(chatml.get("lm_head.weight"), 65));
	});

	it("takes an unreadable tokenizer to be the base's, as mergekit does, but refuses it as the base", async () => {
		const broken = join(dir, "model_broken");
		await makeTinyModel(broken, {
			family: "llama",
			layers: 2,
			hidden: HIDDEN,
			intermediate: 12,
			seed: 7,
			vocab: 64,
			drift: { seed: 9, scale: 0.05 },
		});
		await writeFile(join(broken, "tokenizer.json"), "{}");
		const result = await merge("broken-input", linear([models.base, broken], "tokenizer_source: union\n"));
		expect(result.code, result.stderr).toBe(0);
		expect(result.stderr).toContain("has a tokenizer that cannot be read (");
		const refused = await merge("broken-base", linear([models.base, broken], "tokenizer_source: union\n", broken));
		expect(refused.code).toBe(1);
		expect(refused.stderr).toContain("tokenizer.json has no `model` object");
	});

	it("accepts the legacy `model:` prefix", async () => {
		const result = await merge(
			"legacy-prefix",
			linear([models.base, models.chatml], `tokenizer_source: model:${models.chatml}\n`),
		);
		expect(result.code, result.stderr).toBe(0);
		expect(result.stderr).toContain("`model:` prefix");
		expect((await tokenizerOf(result.out)).vocab.size).toBe(66);
	});

	it("slerp over a union: the embeddings agree in shape (test_slerp_union)", async () => {
		const result = await merge(
			"slerp-union",
			`merge_method: slerp
base_model: ${models.base}
models:
  - model: ${models.base}
  - model: ${models.chatml}
parameters: {t: 0.5}
dtype: float32
tokenizer_source: union
`,
		);
		expect(result.code, result.stderr).toBe(0);
		expect((await tokenizerOf(result.out)).vocab.size).toBe(66);
		expect((await tensors(result.out)).get("model.embed_tokens.weight")?.shape).toEqual([66, HIDDEN]);
	});

	it("TIES over a union: remapped before the method, so no model is cut to the base's vocabulary", async () => {
		const result = await merge(
			"ties-union",
			`merge_method: ties
base_model: ${models.base}
models:
  - model: ${models.padded}
    parameters: {weight: 0.5, density: 0.5}
  - model: ${models.chatml}
    parameters: {weight: 0.5, density: 0.5}
dtype: float32
tokenizer_source: union
`,
		);
		expect(result.code, result.stderr).toBe(0);
		expect(result.stderr).not.toContain("using the first");
		expect((await tensors(result.out)).get("lm_head.weight")?.shape).toEqual([66, HIDDEN]);
	});

	it("remaps a tied model's embedding matrix as its lm_head", async () => {
		const result = await merge("tied", linear([models.base, models.tied], "tokenizer_source: union\n"));
		expect(result.code, result.stderr).toBe(0);
		const merged = await tensors(result.out);
		const tied = await tensors(models.tied);
		expect(tied.has("lm_head.weight")).toBe(false);
		expect(row(merged.get("lm_head.weight"), 64)).toEqual(row(tied.get("model.embed_tokens.weight"), 64));
	});
});

describe("the tokenizer: block", () => {
	it("force: every model carries the named model's row (test_force_token)", async () => {
		const result = await merge(
			"force",
			linear(
				[models.base, models.chatml],
				`tokenizer:
  source: union
  tokens:
    _tok_10:
      source: ${models.chatml}
      force: true
    _tok_11:
      source: ${models.base}
      force: true
`,
			),
		);
		expect(result.code, result.stderr).toBe(0);
		expect((await tokenizerOf(result.out)).vocab.size).toBe(66);
		const merged = await tensors(result.out);
		const base = await tensors(models.base);
		const chatml = await tensors(models.chatml);
		const name = "model.embed_tokens.weight";
		expect(row(merged.get(name), 10)).toEqual(row(chatml.get(name), 10));
		expect(row(merged.get(name), 11)).toEqual(row(base.get(name), 11));
		expect(row(merged.get(name), 12)).not.toEqual(row(base.get(name), 12));
	});

	it("model_token by id and by token text (test_model_token_id)", async () => {
		const result = await merge(
			"model-token",
			linear(
				[models.base, models.chatml],
				`tokenizer:
  source: base
  tokens:
    _tok_20:
      source: {kind: model_token, model: ${models.chatml}, token_id: 64}
      force: true
    _tok_21:
      source: {kind: model_token, model: ${models.base}, token: "<s>"}
      force: true
`,
			),
		);
		expect(result.code, result.stderr).toBe(0);
		const tokenizer = await tokenizerOf(result.out);
		expect(tokenizer.vocab.size).toBe(64);
		expect(tokenizer.vocab.has("_tok_10")).toBe(true);
		const merged = await tensors(result.out);
		const base = await tensors(models.base);
		const chatml = await tensors(models.chatml);
		const name = "model.embed_tokens.weight";
		expect(row(merged.get(name), 20)).toEqual(row(chatml.get(name), 64));
		expect(row(merged.get(name), 21)).toEqual(row(base.get(name), 1));
	});

	it("pad_to_multiple_of: 66 tokens become 80 rows and vocab_size 80; padding rows are the mean (test_pad_to_multiple_of)", async () => {
		const result = await merge(
			"pad",
			linear([models.chatml], "tokenizer:\n  source: base\n  pad_to_multiple_of: 16\n", models.chatml),
		);
		expect(result.code, result.stderr).toBe(0);
		expect((await jsonOf(result.out, "config.json")).vocab_size).toBe(80);
		expect((await tokenizerOf(result.out)).vocab.size).toBe(66);
		const merged = await tensors(result.out);
		const chatml = await tensors(models.chatml);
		const name = "model.embed_tokens.weight";
		expect(merged.get(name)?.shape).toEqual([80, HIDDEN]);
		expect(row(merged.get(name), 65)).toEqual(row(chatml.get(name), 65));
		for (let j = 0; j < HIDDEN; j++) {
			let sum = 0;
			for (let i = 0; i < 66; i++) {
				sum += row(chatml.get(name), i)[j] as number;
			}
			expect(row(merged.get(name), 66)[j]).toBeCloseTo(sum / 66, 6);
			expect(row(merged.get(name), 79)[j]).toBe(row(merged.get(name), 66)[j]);
		}
	});

	it("kind: zero, and a new token no model has, get zero rows", async () => {
		const result = await merge(
			"zero",
			linear(
				[models.base, models.chatml],
				`tokenizer:
  tokens:
    "<|im_start|>":
      source: {kind: zero}
      force: true
    "<|new|>":
`,
			),
		);
		expect(result.code, result.stderr).toBe(0);
		expect(result.stderr).toContain("in none of the models");
		const tokenizer = await tokenizerOf(result.out);
		expect(tokenizer.vocab.get("<|new|>")).toBe(66);
		const merged = await tensors(result.out);
		const name = "model.embed_tokens.weight";
		expect(row(merged.get(name), 64)).toEqual(new Array(HIDDEN).fill(0));
		expect(row(merged.get(name), 66)).toEqual(new Array(HIDDEN).fill(0));
		expect((await jsonOf(result.out, "config.json")).vocab_size).toBe(67);
	});

	it("refuses a token source outside the merge before reading any model", async () => {
		const result = await merge(
			"outside-source",
			`merge_method: linear
models:
  - model: ${join(dir, "missing-a")}
    parameters: {weight: 1}
tokenizer:
  tokens:
    "<x>":
      source: org/other
`,
		);
		expect(result.code).toBe(1);
		expect(result.stderr).toContain("org/other, which is not one of the models merged");
		expect(result.stderr).not.toContain("missing-a");
	});
});

describe("chat_template", () => {
	const plain = (extra: string): string => `merge_method: linear
base_model: ${models.base}
models:
  - model: ${models.base}
    parameters: {weight: 0.5}
  - model: ${models.chatml}
    parameters: {weight: 0.5}
dtype: bfloat16
${extra}`;

	it("auto: the most common template of the inputs, written to tokenizer_config.json and chat_template.jinja", async () => {
		const autoDir = join(dir, "auto-models");
		const common = { family: "llama", layers: 2, hidden: HIDDEN, intermediate: 12, seed: 7, vocab: 64 } as const;
		await makeTinyModel(join(autoDir, "a"), { ...common, tokenizer: { chatTemplate: "{{ 'A' }} {{ messages }}" } });
		await makeTinyModel(join(autoDir, "b"), {
			...common,
			drift: { seed: 4, scale: 0.05 },
			tokenizer: { chatTemplateFile: `${CHATML_TEMPLATE}\n` },
		});
		await makeTinyModel(join(autoDir, "c"), {
			...common,
			drift: { seed: 5, scale: 0.05 },
			tokenizer: { chatTemplate: [{ name: "default", template: CHATML_TEMPLATE }] },
		});
		const result = await merge(
			"auto",
			`merge_method: linear
models:
  - model: ${join(autoDir, "a")}
    parameters: {weight: 1}
  - model: ${join(autoDir, "b")}
    parameters: {weight: 1}
  - model: ${join(autoDir, "c")}
    parameters: {weight: 1}
chat_template: auto
`,
		);
		expect(result.code, result.stderr).toBe(0);
		expect((await jsonOf(result.out, "tokenizer_config.json")).chat_template).toBe(CHATML_TEMPLATE);
		expect(await readFile(join(result.out, "chat_template.jinja"), "utf8")).toBe(CHATML_TEMPLATE);
		expect(await readFile(join(result.out, "tokenizer.json"), "utf8")).toBe(
			await readFile(join(autoDir, "a", "tokenizer.json"), "utf8"),
		);
	});

	it("chatml: the built-in template (test_template_chatml)", async () => {
		const result = await merge("template-chatml", plain("chat_template: chatml\n"));
		expect(result.code, result.stderr).toBe(0);
		const template = (await jsonOf(result.out, "tokenizer_config.json")).chat_template as string;
		expect(template).toContain("<|im_start|>");
		expect(await readFile(join(result.out, "chat_template.jinja"), "utf8")).toBe(template);
		expect(new Template(template).render({ messages: [{ role: "user", content: "hi" }] })).toBe(
			"<|im_start|>user\nhi<|im_end|>\n",
		);
		expect(await readFile(join(result.out, "generation_config.json"), "utf8")).toBe(
			await readFile(join(models.base, "generation_config.json"), "utf8"),
		);
	});

	it("a literal Jinja template round-trips (test_template_literal_jinja)", async () => {
		const result = await merge("template-literal", plain(`chat_template: "{{messages[0]['content']}}"\n`));
		expect(result.code, result.stderr).toBe(0);
		expect((await jsonOf(result.out, "tokenizer_config.json")).chat_template).toBe("{{messages[0]['content']}}");
	});

	it("rejects a literal template that does not parse, with its line, before any model is read", async () => {
		const result = await merge(
			"template-invalid",
			`merge_method: linear
models:
  - model: ${join(dir, "missing-a")}
    parameters: {weight: 1}
chat_template: "{% for m in messages %}{{ m.content }"
`,
		);
		expect(result.code).toBe(1);
		expect(result.stderr).toContain("the Jinja template in `chat_template` at line 5 does not parse");
		expect(result.stderr).not.toContain("missing-a");
		expect(existsSync(result.out)).toBe(false);
	});
});
