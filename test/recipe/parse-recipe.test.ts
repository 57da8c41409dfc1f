import { describe, expect, it } from "vitest";
import { parseRecipe } from "../../src/recipe/parse-recipe.js";
import { parseRecipes } from "../../src/recipe/parse-recipes.js";
import type { Diagnostic } from "../../src/recipe/recipe.js";

const errors = (diagnostics: Diagnostic[]): string[] =>
	diagnostics.filter((diagnostic) => diagnostic.severity === "error").map((diagnostic) => diagnostic.message);
const warnings = (diagnostics: Diagnostic[]): string[] =>
	diagnostics.filter((diagnostic) => diagnostic.severity === "warning").map((diagnostic) => diagnostic.message);

const linear = `merge_method: linear
models:
  - model: org/a
    parameters:
      weight: 0.6
  - model: org/b
    parameters:
      weight: 0.4
dtype: bfloat16
`;

describe("parseRecipe: the schema", () => {
	it("reads a models-form recipe with spans and the source verbatim", () => {
		const { recipe, diagnostics } = parseRecipe(linear, { file: "recipe.yml" });
		expect(diagnostics).toEqual([]);
		expect(recipe?.mergeMethod).toBe("linear");
		expect(recipe?.mergeMethodSpan).toEqual({ line: 1, column: 15 });
		expect(recipe?.source).toBe(linear);
		expect(recipe?.file).toBe("recipe.yml");
		expect(recipe?.dtype).toBe("bfloat16");
		expect(recipe?.keySpans.dtype).toEqual({ line: 9, column: 1 });
		expect(recipe?.models?.map((model) => model.model.key)).toEqual(["org/a", "org/b"]);
		expect(recipe?.models?.[1]?.span).toEqual({ line: 6, column: 5 });
		expect(recipe?.models?.[1]?.model.span).toEqual({ line: 6, column: 12 });
		expect(recipe?.models?.[1]?.parameters.weight).toEqual({
			kind: "scalar",
			value: 0.4,
			span: { line: 8, column: 15 },
		});
		expect(recipe?.slices).toBeUndefined();
	});

	it("applies a line offset to every span and message", () => {
		const { recipe, diagnostics } = parseRecipe(`${linear}bogus: 1\n`, { lineOffset: 20 });
		expect(recipe?.mergeMethodSpan.line).toBe(21);
		expect(recipe?.models?.[0]?.parameters.weight?.span.line).toBe(25);
		expect(warnings(diagnostics)).toEqual([expect.stringContaining("unknown key `bogus` at line 30")]);
		expect(diagnostics[0]?.span?.line).toBe(30);
	});

	it("reads gradients and filter lists with their spans", () => {
		const text = `merge_method: slerp
base_model: org/a
slices:
  - sources:
      - model: org/a
        layer_range: [0, 40]
      - model: org/b
        layer_range: [0, 40]
parameters:
  t:
    - filter: self_attn
      value: [0, 0.5, 0.3, 0.7, 1]
    - filter: mlp
      value: [1, 0.5, 0.7, 0.3, 0]
    - value: 0.5
`;
		const { recipe, diagnostics } = parseRecipe(text);
		expect(diagnostics).toEqual([]);
		const t = recipe?.parameters.t;
		expect(t?.kind).toBe("filtered");
		if (t?.kind !== "filtered") {
			return;
		}
		expect(t.span).toEqual({ line: 11, column: 5 });
		expect(t.entries.map((entry) => entry.filter)).toEqual(["self_attn", "mlp", undefined]);
		expect(t.entries[0]?.span).toEqual({ line: 11, column: 7 });
		expect(t.entries[0]?.value).toEqual({
			kind: "gradient",
			values: [0, 0.5, 0.3, 0.7, 1],
			span: { line: 12, column: 14 },
		});
		expect(t.entries[2]?.value).toEqual({ kind: "scalar", value: 0.5, span: { line: 15, column: 14 } });
		expect(recipe?.slices?.[0]?.sources[1]?.layerRange).toEqual([0, 40]);
		expect(recipe?.slices?.[0]?.sources[1]?.span).toEqual({ line: 7, column: 9 });
		expect(recipe?.slices?.[0]?.span).toEqual({ line: 4, column: 5 });
	});

	it("coerces numeric strings as pydantic does, and keeps booleans for the validator", () => {
		const text = `merge_method: ties
base_model: org/base
models:
  - model: org/a
    parameters:
      weight: "0.5"
      density: '1e-1'
      gamma: 1_000
      lambda: "abc"
      normalize: true
      eps: 1e-5
      grad: ["0.1", 2, true]
`;
		const { recipe, diagnostics } = parseRecipe(text);
		expect(errors(diagnostics)).toEqual([]);
		const parameters = recipe?.models?.[0]?.parameters ?? {};
		expect(parameters.weight).toMatchObject({ kind: "scalar", value: 0.5 });
		expect(parameters.density).toMatchObject({ kind: "scalar", value: 0.1 });
		expect(parameters.gamma).toMatchObject({ kind: "scalar", value: 1000 });
		expect(parameters.lambda).toMatchObject({ kind: "scalar", value: "abc" });
		expect(parameters.normalize).toMatchObject({ kind: "scalar", value: true });
		expect(parameters.eps).toMatchObject({ kind: "scalar", value: 1e-5 });
		expect(parameters.grad).toMatchObject({ kind: "gradient", values: [0.1, 2, 1] });
	});

	it("rejects a lone {filter, value} map with the fix", () => {
		const text = `merge_method: linear
models:
  - model: org/a
    parameters:
      weight:
        filter: mlp
        value: 0.5
`;
		const { diagnostics } = parseRecipe(text);
		const [message] = errors(diagnostics);
		expect(message).toContain("`weight` at line 6 is a single `{filter, value}` map");
		expect(message).toContain("Wrap it in a list");
	});

	it("rejects bad gradients and values", () => {
		const text = `merge_method: linear
parameters:
  weight: []
  density: [0.1, abc]
  gamma:
  mixed: [0.1, {filter: mlp, value: 1}]
models:
  - model: org/a
`;
		const messages = errors(parseRecipe(text).diagnostics);
		expect(messages).toEqual([
			expect.stringContaining("`weight` at line 3 is an empty list"),
			expect.stringContaining("`density` at line 4: gradient value 2 (`abc`) is not a number"),
			expect.stringContaining("`gamma` at line 5 has no value"),
			expect.stringContaining("`mixed` at line 6 mixes numbers and `{filter, value}` entries"),
		]);
	});

	it("warns about unknown keys with did-you-mean, at every level", () => {
		const text = `merge_method: linear
modles:
  - model: org/a
models:
  - model: org/a
    paramters:
      weight: 1
    weight: 1
embed_slerp: true
`;
		const messages = warnings(parseRecipe(text).diagnostics);
		expect(messages).toContain("unknown key `modles` at line 2: did you mean `models`? mergekit ignores it silently");
		expect(messages).toContain(
			"unknown key `paramters` at line 6: did you mean `parameters`? mergekit ignores it silently",
		);
		expect(messages.find((message) => message.includes("`embed_slerp` at line 9"))).toContain("does nothing");
	});

	it("requires merge_method and exactly one of models/slices/modules", () => {
		const none = parseRecipe("models:\n  - model: org/a\n");
		expect(none.recipe).toBeUndefined();
		expect(errors(none.diagnostics)).toEqual([expect.stringContaining("the recipe has no `merge_method`")]);

		const both = parseRecipe(
			"merge_method: linear\nmodels:\n  - model: a/b\nslices:\n  - sources:\n      - model: a/b\n        layer_range: [0, 1]\n",
		);
		expect(errors(both.diagnostics)).toEqual([
			"the recipe has both `models` (line 2) and `slices` (line 4); it needs exactly one of `models:`, `slices:` or `modules:`",
		]);
		const neither = parseRecipe("merge_method: linear\nbase_model: a/b\n");
		expect(errors(neither.diagnostics)[0]).toContain("exactly one of `models:`, `slices:` or `modules:`");
		expect(errors(parseRecipe("merge_method: [linear]\nmodels: []\n").diagnostics)[0]).toContain(
			"`merge_method` at line 1 must be a method name",
		);
	});

	it("checks layer_range", () => {
		const text = `merge_method: passthrough
slices:
  - sources:
      - model: org/a
        layer_range: [24, 0]
  - sources:
      - model: org/a
        layer_range: [0, 1.5]
  - sources:
      - model: org/a
  - sources:
      - model: org/a
        layer_range: ["0", 8.0]
`;
		const { recipe, diagnostics } = parseRecipe(text);
		expect(errors(diagnostics)).toEqual([
			"slices[0].sources[0].layer_range at line 5 is [24, 0]: the start is after the end; did you mean [0, 24]?",
			expect.stringContaining("slices[1].sources[0].layer_range at line 8 is not two layer numbers"),
			expect.stringContaining("slices[2].sources[0] at line 10 has no `layer_range`"),
		]);
		expect(recipe?.slices?.[3]?.sources[0]?.layerRange).toEqual([0, 8]);
	});

	it("reads the modules form", () => {
		const text = `merge_method: linear
modules:
  text_decoder:
    models:
      - model: org/a
        parameters: {weight: 1}
    parameters:
      normalize: false
  vision_tower:
    slices:
      - sources:
          - model: org/a
            layer_range: [0, 4]
  broken:
    parameters: {}
`;
		const { recipe, diagnostics } = parseRecipe(text);
		expect(errors(diagnostics)).toEqual(["modules.broken at line 15 needs `models:` or `slices:`"]);
		expect(recipe?.modules?.text_decoder?.models?.[0]?.model.key).toBe("org/a");
		expect(recipe?.modules?.text_decoder?.parameters.normalize).toMatchObject({ value: false });
		expect(recipe?.modules?.vision_tower?.slices?.[0]?.sources[0]?.layerRange).toEqual([0, 4]);
	});

	it("accepts dtype names mergekit knows and suggests the right one for short names", () => {
		expect(parseRecipe(linear.replace("bfloat16", "torch.float16")).recipe?.dtype).toBe("torch.float16");
		const { diagnostics } = parseRecipe(`${linear}out_dtype: bf16\n`);
		expect(errors(diagnostics)).toEqual([
			"`out_dtype: bf16` at line 10 is not a dtype mergekit accepts: did you mean `bfloat16`? (accepted: `bfloat16`, `float16`, `float32`, `int64`, optionally with a `torch.` prefix)",
		]);
		expect(errors(parseRecipe(linear.replace("bfloat16", "fp32")).diagnostics)[0]).toContain("did you mean `float32`?");
	});

	it("reads tokenizer options, chat_template, random_seed and name", () => {
		const text = `${linear}tokenizer_source: model:org/tok
chat_template: chatml
random_seed: 42
name: stage-one
`;
		const { recipe, diagnostics } = parseRecipe(text);
		expect(errors(diagnostics)).toEqual([]);
		expect(warnings(diagnostics)[0]).toContain("`model:` prefix");
		expect(recipe?.tokenizerSource).toBe("org/tok");
		expect(recipe?.chatTemplate).toBe("chatml");
		expect(recipe?.randomSeed).toBe(42);
		expect(recipe?.name).toBe("stage-one");

		const tokenizer = parseRecipe(
			`${linear}tokenizer:\n  source: union\n  pad_to_multiple_of: 64\n  tokens:\n    "<|im_start|>":\n      source: org/a\n`,
		);
		expect(tokenizer.diagnostics).toEqual([]);
		expect(tokenizer.recipe?.tokenizer).toMatchObject({
			source: "union",
			padToMultipleOf: 64,
			tokens: [{ token: "<|im_start|>", source: { kind: "model", model: { key: "org/a" } }, force: false }],
		});
		const both = parseRecipe(`${linear}tokenizer_source: union\ntokenizer:\n  source: base\n`);
		expect(errors(both.diagnostics)[0]).toContain("sets both `tokenizer_source` (line 10) and `tokenizer` (line 11)");
		expect(errors(parseRecipe(`${linear}random_seed: -1\n`).diagnostics)[0]).toContain("`random_seed` at line 10");
	});

	it("warns that residual_weight does nothing", () => {
		const text = `merge_method: passthrough
slices:
  - sources:
      - model: org/a
        layer_range: [0, 4]
    residual_weight: 0.5
`;
		expect(warnings(parseRecipe(text).diagnostics)).toEqual([
			"`residual_weight` at line 6 is read by mergekit but never used; it does nothing, so delete it",
		]);
	});
});

describe("parseRecipe: YAML trouble", () => {
	it("names the line with a tab in its indentation", () => {
		const text = "merge_method: linear\nmodels:\n  - model: org/a\n    parameters:\n\t  weight: 1\n";
		const { recipe, diagnostics } = parseRecipe(text);
		expect(recipe).toBeUndefined();
		expect(errors(diagnostics)).toEqual([
			"line 5 has a tab in its indentation; YAML indents with spaces only. Replace the tab with spaces (2 per level is usual)",
		]);
		expect(diagnostics[0]?.span?.line).toBe(5);
	});

	it("allows tabs inside a block scalar", () => {
		const text = `${linear}chat_template: |\n  {% for m in messages %}\n  \t{{ m.content }}\n  {% endfor %}\n`;
		expect(parseRecipe(text).diagnostics).toEqual([]);
	});

	it("reports syntax errors with line and column in words", () => {
		const { diagnostics } = parseRecipe("merge_method: linear\nmodels: [org/a, org/b\ndtype: float16\n");
		const [message] = errors(diagnostics);
		expect(message).toMatch(/^YAML syntax error at line \d+, column \d+: /);
		const quote = errors(parseRecipe("merge_method: 'linear\nmodels: []\n").diagnostics)[0];
		expect(quote).toContain("check that every quote and bracket opened here is closed");
	});

	it("names both lines of a duplicated top-level key", () => {
		const text = `merge_method: linear
models:
  - model: org/a
    parameters:
      weight: 1
dtype: float16
# a second recipe pasted below
merge_method: ties
base_model: org/a
`;
		const { diagnostics } = parseRecipe(text);
		expect(errors(diagnostics)).toEqual([
			"`merge_method` appears twice, at lines 1 and 8 — two recipes pasted together? Separate them with a `---` line",
		]);
		expect(diagnostics[0]?.span?.line).toBe(8);
	});

	it("names both lines of a duplicated nested key", () => {
		const text = "merge_method: linear\nmodels:\n  - model: org/a\n    parameters:\n      weight: 1\n      weight: 2\n";
		const { recipe, diagnostics } = parseRecipe(text);
		expect(errors(diagnostics)).toEqual([
			"`weight` appears twice in models[0].parameters, at lines 5 and 6; YAML keeps only the last one, so delete the one you did not mean",
		]);
		expect(recipe?.models?.[0]?.parameters.weight).toMatchObject({ value: 2 });
	});

	it("refuses an alias bomb quickly", () => {
		// The "billion laughs" ladder: each level repeats the previous one nine times (9^9 leaves).
		const ladder = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
		const names = "abcdefghi";
		for (let level = 1; level < names.length; level++) {
			ladder.push(
				`${names[level]}: &${names[level]} [${Array(9)
					.fill(`*${names[level - 1]}`)
					.join(", ")}]`,
			);
		}
		const bomb = `${ladder.join("\n")}\nmerge_method: linear\nmodels:\n  - model: org/a\ntokenizer:\n  source: *i\n`;
		const started = performance.now();
		const { recipe, diagnostics } = parseRecipe(bomb);
		expect(performance.now() - started).toBeLessThan(1000);
		expect(recipe).toBeUndefined();
		expect(errors(diagnostics)).toEqual([expect.stringContaining("alias bomb")]);
		expect(errors(diagnostics)[0]).toContain("more than 100 times");

		// Where the schema wants a number, the walk stops at the first list without expanding it.
		const inParameter = parseRecipe(
			`${ladder.join("\n")}\nmerge_method: linear\nmodels:\n  - model: org/a\nparameters:\n  weight: *i\n`,
		);
		expect(errors(inParameter.diagnostics)).toEqual([expect.stringContaining("gradient value 1 (not a number)")]);
		const inTokens = parseRecipe(
			`${ladder.join("\n")}\nmerge_method: linear\nmodels:\n  - model: org/a\ntokenizer:\n  tokens: *i\n`,
		);
		expect(errors(inTokens.diagnostics)).toEqual([
			expect.stringContaining("`tokenizer.tokens` at line 14 must be a map"),
		]);
	});

	it("follows ordinary aliases and merge keys", () => {
		const text = `common: &common
  weight: 0.5
  density: 0.5
merge_method: ties
base_model: org/base
models:
  - model: org/a
    parameters: *common
  - model: org/b
    parameters:
      <<: *common
      weight: 0.7
`;
		const { recipe, diagnostics } = parseRecipe(text);
		expect(errors(diagnostics)).toEqual([]);
		expect(recipe?.models?.[0]?.parameters.weight).toMatchObject({ value: 0.5 });
		expect(recipe?.models?.[1]?.parameters.weight).toMatchObject({ value: 0.7 });
		expect(recipe?.models?.[1]?.parameters.density).toMatchObject({ value: 0.5 });
		expect(errors(parseRecipe("merge_method: *nothing\n").diagnostics)).toContain(
			"alias `*nothing` at line 1 refers to no anchor `&nothing` written before it",
		);
	});

	it("does not mistake a recipe that reuses one anchor for every model for a bomb", () => {
		const models = Array.from({ length: 60 }, (_, index) => `  - model: org/m${index}\n    parameters: *p\n`).join("");
		const text = `shared: &p\n  weight: [0, 0.5, 1]\n  density: 0.5\nmerge_method: ties\nbase_model: org/base\nmodels:\n${models}`;
		const { recipe, diagnostics } = parseRecipe(text);
		expect(errors(diagnostics)).toEqual([]);
		expect(recipe?.models).toHaveLength(60);
		expect(recipe?.models?.[59]?.parameters.weight).toMatchObject({ kind: "gradient", values: [0, 0.5, 1] });
	});

	it("refuses text over the size limit", () => {
		const { recipe, diagnostics } = parseRecipe(`${linear}# ${"x".repeat(300 * 1024)}\n`);
		expect(recipe).toBeUndefined();
		expect(errors(diagnostics)[0]).toContain("recipes are limited to 256 KiB");
	});

	it("says an empty text is empty", () => {
		expect(errors(parseRecipe("").diagnostics)[0]).toContain("the recipe is empty");
		expect(errors(parseRecipe("# just a comment\n").diagnostics)[0]).toContain("the recipe is empty");
		expect(errors(parseRecipe("- a\n- b\n").diagnostics)[0]).toContain("is a list, not a map");
	});
});

describe("multi-document recipes", () => {
	const stages = `name: stage-one
merge_method: linear
models:
  - model: org/a
    parameters: {weight: 1}
---
name: stage-two
merge_method: slerp
base_model: stage-one
slices:
  - sources:
      - model: stage-one
        layer_range: [0, 4]
      - model: org/b
        layer_range: [0, 4]
parameters:
  t: 0.5
---
`;

	it("parseRecipes reads one recipe per document, with positions in the whole text", () => {
		const results = parseRecipes(stages);
		expect(results).toHaveLength(2);
		expect(results.map((result) => result.recipe?.name)).toEqual(["stage-one", "stage-two"]);
		expect(results[1]?.recipe?.mergeMethodSpan.line).toBe(8);
		expect(results[1]?.recipe?.source.startsWith("name: stage-two")).toBe(true);
		expect(results.flatMap((result) => result.diagnostics)).toEqual([]);
	});

	it("parseRecipe says a multi-document text is a multi-stage recipe", () => {
		const { recipe, diagnostics } = parseRecipe(stages);
		expect(recipe).toBeUndefined();
		expect(errors(diagnostics)[0]).toContain("the text holds 2 YAML documents, separated by `---` at line 6");
		expect(errors(diagnostics)[0]).toContain("multi-stage recipe");
	});

	it("parseRecipes says an empty text is empty", () => {
		const [only] = parseRecipes("\n# nothing\n");
		expect(only?.recipe).toBeUndefined();
		expect(only?.diagnostics[0]?.message).toContain("the recipe is empty");
	});

	it("a leading --- does not make a second document", () => {
		expect(parseRecipe(`---\n${linear}`).diagnostics).toEqual([]);
	});
});
