import { describe, expect, it } from "vitest";
import { MERGE_METHODS } from "../../src/methods/registry.js";
import { parseRecipe } from "../../src/recipe/parse-recipe.js";
import type { Diagnostic } from "../../src/recipe/recipe.js";
import { validateRecipe } from "../../src/recipe/validate-recipe.js";

/** Parse and validate, failing the test on parse errors so each case checks the validator. */
function check(text: string): Diagnostic[] {
	const { recipe, diagnostics } = parseRecipe(text);
	const parseErrors = diagnostics.filter((diagnostic) => diagnostic.severity === "error");
	expect(parseErrors).toEqual([]);
	if (recipe === undefined) {
		throw new Error("no recipe");
	}
	return validateRecipe(recipe);
}
const errors = (diagnostics: Diagnostic[]): string[] =>
	diagnostics.filter((diagnostic) => diagnostic.severity === "error").map((diagnostic) => diagnostic.message);
const warnings = (diagnostics: Diagnostic[]): string[] =>
	diagnostics.filter((diagnostic) => diagnostic.severity === "warning").map((diagnostic) => diagnostic.message);

describe("validateRecipe", () => {
	it("has the whole registry to check against", () => {
		expect(MERGE_METHODS.map((method) => method.name).sort()).toEqual(
			[
				"arcee_fusion",
				"breadcrumbs",
				"breadcrumbs_ties",
				"dare_linear",
				"dare_ties",
				"della",
				"della_linear",
				"karcher",
				"linear",
				"model_stock",
				"multislerp",
				"nearswap",
				"nuslerp",
				"passthrough",
				"ram",
				"ramplus_tl",
				"sce",
				"slerp",
				"task_arithmetic",
				"ties",
			].sort(),
		);
	});

	describe("the merge method", () => {
		it("suggests the method a typo meant", () => {
			const diagnostics = check("models:\n  - model: org/a\nmerge_method: dare-ties\n");
			expect(errors(diagnostics)).toEqual(["unknown merge method `dare-ties` at line 3: did you mean `dare_ties`?"]);
			expect(diagnostics[0]?.span).toEqual({ line: 3, column: 15 });
			expect(errors(check("merge_method: Linear\nmodels:\n  - model: org/a\n"))).toEqual([
				"unknown merge method `Linear` at line 1: did you mean `linear`?",
			]);
			expect(errors(check("merge_method: slerpp\nmodels:\n  - model: org/a\n"))[0]).toContain("did you mean `slerp`?");
		});

		it("lists the methods when nothing is close", () => {
			const [message] = errors(check("merge_method: frankenstein\nmodels:\n  - model: org/a\n"));
			expect(message).toContain("unknown merge method `frankenstein` at line 1; the methods are `linear`, `slerp`");
			expect(message).toContain("`ramplus_tl`");
		});

		it("explains removed methods", () => {
			expect(errors(check("merge_method: consensus_ties\nmodels:\n  - model: org/a\n"))).toEqual([
				"merge method `consensus_ties` at line 1 was removed from mergekit in February 2025 and no longer runs; use `ties` instead",
			]);
		});
	});

	describe("parameters", () => {
		it("suggests the parameter a typo meant", () => {
			const text = `merge_method: ties
base_model: org/base
models:
  - model: org/a
    parameters:
      weight: 1
      desnity: 0.5
`;
			expect(warnings(check(text))).toEqual([
				"`desnity` at line 7 is not a parameter of `ties`: did you mean `density`? mergekit ignores it silently",
			]);
		});

		it("names the method a stray parameter belongs to", () => {
			const text =
				"merge_method: linear\nmodels:\n  - model: org/a\n    parameters: {weight: 1}\nparameters:\n  t: 0.5\n";
			expect(warnings(check(text))).toEqual([
				"`t` at line 6 is not a parameter of `linear` (it is a parameter of `slerp`, `nearswap`); `linear` reads `weight`, `normalize`. mergekit ignores it silently",
			]);
		});

		it("warns about legacy parameters", () => {
			const text =
				"merge_method: ties\nbase_model: org/base\nmodels:\n  - model: org/a\n    parameters: {weight: 1}\nparameters:\n  consensus_method: count\n";
			expect(warnings(check(text))[0]).toContain("`consensus_method` at line 7 was read by the 2023 TIES code");
		});

		it("warns that a global parameter under a model is ignored", () => {
			const text = `merge_method: slerp
base_model: org/a
models:
  - model: org/a
  - model: org/b
    parameters:
      t: 0.5
parameters:
  t: 0.3
`;
			expect(warnings(check(text))).toEqual([
				"`t` is a global parameter of slerp; under models[1].parameters (line 7) it is ignored — move it to the top-level parameters",
			]);
			expect(errors(check(text))).toEqual([]);
		});

		it("checks ranges of scalars, gradient anchors and filter values, naming line and range", () => {
			const text = `merge_method: ties
base_model: org/base
models:
  - model: org/a
    parameters:
      weight: 1
      density: 53
  - model: org/b
    parameters:
      weight: 1
      density: [0.5, 0]
  - model: org/c
    parameters:
      weight: 1
      density:
        - filter: mlp
          value: 1.5
        - value: 0.5
`;
			expect(errors(check(text))).toEqual([
				"`density: 53` at line 7 is out of range: `density` must be in (0, 1]",
				"`density` at line 11: gradient value 2 (0) is out of range: `density` must be in (0, 1]",
				"`density: 1.5` at line 17 (the entry for filter `mlp`) is out of range: `density` must be in (0, 1]",
			]);
		});

		it("checks types: booleans, whole numbers, numeric strings", () => {
			const text = `merge_method: karcher
models:
  - model: org/a
  - model: org/b
parameters:
  max_iter: 2.5
  tol: "1e-5"
`;
			expect(errors(check(text))).toEqual(["`max_iter: 2.5` at line 6: `max_iter` must be a whole number"]);
			expect(errors(check(text.replace("2.5", "[1, 5]")))).toEqual([
				"`max_iter` at line 6 is a gradient (a list), but `max_iter` must be a single whole number",
			]);
			const booleans = `merge_method: ties
base_model: org/base
models:
  - model: org/a
    parameters:
      weight: true
      density: "0.5"
parameters:
  normalize: 0.5
  int8_mask: yes
  lambda: abc
`;
			expect(errors(check(booleans))).toEqual([
				"`normalize: 0.5` at line 9: `normalize` must be true or false",
				"`lambda: abc` at line 11: `lambda` must be a number",
			]);
		});
	});

	describe("required parameters", () => {
		it("requires a weight for every model, at any level", () => {
			const text = `merge_method: linear
models:
  - model: org/a
    parameters:
      weight: 1
  - model: org/b
`;
			expect(errors(check(text))).toEqual([
				"linear needs `weight` for every model, and `org/b` (models[1], line 6) has none: add `weight: <number>` under its `parameters:`, or set `weight` in the top-level `parameters:` for all models",
			]);
			expect(errors(check(`${text}parameters:\n  weight: 0.5\n`))).toEqual([]);
		});

		it("asks for a weight on a base model that linear averages in", () => {
			const text =
				"merge_method: linear\nbase_model: org/base\nmodels:\n  - model: org/a\n    parameters: {weight: 1}\n";
			expect(errors(check(text))).toEqual([
				"linear merges base_model `org/base` (line 2) like any other model, and it has no `weight`: list it under `models:` with `parameters: {weight: ...}`, or remove base_model",
			]);
		});

		it("does not ask the base for a weight where it is only the reference", () => {
			const text =
				"merge_method: ties\nbase_model: org/base\nmodels:\n  - model: org/base\n  - model: org/a\n    parameters: {weight: 1}\n";
			expect(errors(check(text))).toEqual([]);
		});

		it("warns when a filter list has no catch-all and nothing below gives a value", () => {
			const text = `merge_method: linear
models:
  - model: org/a
    parameters:
      weight:
        - filter: mlp
          value: 1
`;
			const [message] = warnings(check(text));
			expect(message).toContain("`weight` at line 6 is set only for tensors matching `mlp`");
			expect(message).toContain("Add a last entry `- value: <number>` with no filter");
			expect(errors(check(text))).toEqual([]);
			expect(warnings(check(`${text}parameters:\n  weight: 0.5\n`))).toEqual([]);
		});

		it("requires a global t for slerp at slice, module or top level", () => {
			const text = `merge_method: slerp
base_model: org/a
slices:
  - sources:
      - model: org/a
        layer_range: [0, 8]
      - model: org/b
        layer_range: [0, 8]
`;
			expect(errors(check(text))).toEqual([
				"slerp needs `t`, and slice 1 (line 4) gets none: add `t: <number>` to the top-level `parameters:` or to the slice's `parameters:` (a global parameter under a model's parameters is ignored)",
			]);
			expect(errors(check(`${text}    parameters:\n      t: 0.5\n`))).toEqual([]);
		});
	});

	describe("the base model", () => {
		it("requires base_model for ties, with the fix", () => {
			const text = "merge_method: ties\nmodels:\n  - model: org/a\n    parameters: {weight: 1, density: 0.5}\n";
			const diagnostics = check(text);
			expect(errors(diagnostics)).toEqual([
				"ties needs a base_model: the other models are measured from it. Add `base_model: <the model your fine-tunes started from>` at the top level",
			]);
			expect(diagnostics[0]?.span?.line).toBe(1);
		});

		it("requires the base among each slice's sources where the method reads it", () => {
			const text = `merge_method: slerp
base_model: org/base
slices:
  - sources:
      - model: org/a
        layer_range: [0, 8]
      - model: org/b
        layer_range: [0, 8]
parameters:
  t: 0.5
`;
			expect(errors(check(text))).toEqual([
				"slice 1 (line 4): slerp reads the base model `org/base` in every slice, but it is not one of this slice's sources (mergekit adds it only in the `models:` form). Add a source `- model: org/base` with a layer_range of the same length",
			]);
		});

		it("warns that passthrough ignores base_model and that a reference base's parameters are ignored", () => {
			const passthrough = "merge_method: passthrough\nbase_model: org/base\nmodels:\n  - model: org/a\n";
			expect(warnings(check(passthrough))).toEqual([
				"base_model `org/base` at line 2 does nothing for passthrough; delete it",
			]);
			const ties =
				"merge_method: ties\nbase_model: org/base\nmodels:\n  - model: org/base\n    parameters: {weight: 1, density: 0.5}\n  - model: org/a\n    parameters: {weight: 1}\n";
			expect(warnings(check(ties))).toEqual([
				"ties uses the base model `org/base` only as the reference the others are measured from, so its `weight`, `density` (models[0], line 4) are ignored",
			]);
		});
	});

	describe("model counts", () => {
		it("slerp merges exactly two models counting the base", () => {
			const text = `merge_method: slerp
base_model: org/a
models:
  - model: org/b
  - model: org/c
parameters:
  t: 0.5
`;
			expect(errors(check(text))).toEqual([
				"slerp merges exactly 2 models, counting the base model; the models list (line 3) has 3: `org/b`, `org/c`, `org/a`; base_model `org/a` counts because mergekit adds it to the models list",
			]);
			expect(errors(check(text.replace("  - model: org/c\n", "")))).toEqual([]);
		});

		it("nuslerp merges exactly two besides the base; model_stock needs at least two besides it", () => {
			const nuslerp =
				"merge_method: nuslerp\nbase_model: org/base\nmodels:\n  - model: org/a\n    parameters: {weight: 1}\n";
			expect(errors(check(nuslerp))).toEqual([
				"nuslerp merges exactly 2 models besides the base model; the models list (line 3) has 1: `org/a`",
			]);
			const stock = "merge_method: model_stock\nbase_model: org/base\nmodels:\n  - model: org/a\n";
			expect(errors(check(stock))).toEqual([
				"model_stock merges at least 2 models besides the base model; the models list (line 3) has 1: `org/a`",
			]);
		});

		it("passthrough takes one source per slice", () => {
			const text = `merge_method: passthrough
slices:
  - sources:
      - model: org/a
        layer_range: [0, 8]
  - sources:
      - model: org/a
        layer_range: [8, 16]
      - model: org/b
        layer_range: [8, 16]
`;
			expect(errors(check(text))).toEqual([
				"passthrough merges exactly 1 model; slice 2 (line 6) has 2: `org/a`, `org/b`",
			]);
		});
	});

	describe("slices", () => {
		it("names the slice whose sources differ in length", () => {
			const text = `merge_method: linear
parameters:
  weight: 1
slices:
  - sources:
      - model: org/a
        layer_range: [0, 8]
      - model: org/b
        layer_range: [0, 8]
  - sources:
      - model: org/a
        layer_range: [8, 16]
      - model: org/b
        layer_range: [8, 18]
`;
			const diagnostics = check(text);
			expect(errors(diagnostics)).toEqual([
				"slice 2 (line 10): sources cover 8 and 10 layers (`org/a` [8, 16] = 8, `org/b` [8, 18] = 10); every source of a slice must cover the same number of layers",
			]);
			expect(diagnostics[0]?.span?.line).toBe(10);
		});
	});

	describe("sparsification bounds", () => {
		it("DELLA: density ± epsilon must stay inside (0, 1), with the default epsilon too", () => {
			const text = `merge_method: della
base_model: org/base
models:
  - model: org/a
    parameters:
      weight: 1
      density: 0.9
  - model: org/b
    parameters:
      weight: 1
      density: 0.5
      epsilon: 0.5
  - model: org/c
    parameters:
      weight: 1
      density: 0.66
      epsilon: 0.05
`;
			expect(errors(check(text))).toEqual([
				"della: density 0.9 (line 7) with epsilon 0.15 (the default) gives `org/a` (line 4) keep probabilities from 0.75 to 1.05, but density ± epsilon must stay inside (0, 1). Set epsilon below 0.1, or density to 1 to keep every weight",
				"della: density 0.5 (line 11) with epsilon 0.5 (line 12) gives `org/b` (line 8) keep probabilities from 0 to 1, but density ± epsilon must stay inside (0, 1). Set epsilon below 0.5, or density to 1 to keep every weight",
			]);
		});

		it("DELLA: warns when a density gradient passes through the failing band", () => {
			const text = `merge_method: della_linear
base_model: org/base
models:
  - model: org/a
    parameters:
      weight: 1
      density: [0.5, 1]
`;
			expect(errors(check(text))).toEqual([]);
			expect(warnings(check(text))[0]).toContain(
				"della_linear: the density gradient (line 7) runs from 0.5 to 1, so some layers of `org/a` (line 4) can get a density in [0.85, 1)",
			);
		});

		it("breadcrumbs: warns when density + gamma is over 1", () => {
			const text =
				"merge_method: breadcrumbs\nbase_model: org/base\nmodels:\n  - model: org/a\n    parameters: {weight: 1, density: 0.95, gamma: 0.1}\n";
			expect(warnings(check(text))[0]).toContain(
				"breadcrumbs: density 0.95 (line 5) plus gamma 0.1 (line 5) is more than 1",
			);
		});
	});

	describe("other settings", () => {
		const linear = "merge_method: linear\nmodels:\n  - model: org/a\n    parameters: {weight: 1}\n";

		it("checks a literal chat template before any weights are read", () => {
			expect(errors(check(`${linear}chat_template: chatm\n`))).toEqual([
				"`chat_template: chatm` at line 5 is neither a built-in template (`auto`, `alpaca`, `chatml`, `exaone`, `llama3`, `mistral`) nor a Jinja template (at least 20 characters, containing `{`): did you mean `chatml`?",
			]);
			expect(check(`${linear}chat_template: llama3\n`)).toEqual([]);
			expect(check(`${linear}chat_template: "{% for m in messages %}{{ m.content }}{% endfor %}"\n`)).toEqual([]);
		});

		it("accepts tokenizer options and LoRA references (the engine reports what it does not support)", () => {
			const text =
				"merge_method: linear\nmodels:\n  - model: org/a+org/lora\n    parameters: {weight: 1}\ntokenizer:\n  source: union\n";
			expect(check(text)).toEqual([]);
		});

		it("copies the file name onto its diagnostics", () => {
			const { recipe } = parseRecipe("merge_method: dare-ties\nmodels:\n  - model: org/a\n", { file: "my.yml" });
			expect(recipe && validateRecipe(recipe)[0]?.file).toBe("my.yml");
		});

		it("points out a parameter written outside parameters:", () => {
			const { diagnostics } = parseRecipe("merge_method: linear\nmodels:\n  - model: org/a\n    weight: 1\n");
			expect(warnings(diagnostics)).toEqual([
				"`weight` at line 4 is a merge parameter written outside `parameters:` (in models[0]); mergekit ignores it there. Move it under `parameters:`",
			]);
		});
	});
});
