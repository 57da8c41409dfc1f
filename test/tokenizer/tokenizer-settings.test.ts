import { describe, expect, it } from "vitest";
import { parseRecipe } from "../../src/recipe/parse-recipe.js";
import type { Diagnostic } from "../../src/recipe/recipe.js";
import { validateRecipe } from "../../src/recipe/validate-recipe.js";

const errors = (diagnostics: readonly Diagnostic[]): string[] =>
	diagnostics.filter((diagnostic) => diagnostic.severity === "error").map((diagnostic) => diagnostic.message);

const linear = "merge_method: linear\nmodels:\n  - model: org/a\n    parameters: {weight: 1}\n";

function check(text: string): Diagnostic[] {
	const { recipe, diagnostics } = parseRecipe(text);
	return [...diagnostics, ...(recipe ? validateRecipe(recipe) : [])];
}

describe("the tokenizer: block", () => {
	it("reads every form of token source", () => {
		const { recipe, diagnostics } = parseRecipe(`${linear}tokenizer:
  pad_to_multiple_of: 32
  tokens:
    "<|im_start|>":
      source: org/a
      force: true
    "<a>":
      source: {kind: model_token, model: org/a, token_id: 7}
    "<b>":
      source: {kind: model_token, model: org/a, token: "<s>"}
    "<c>":
      source: {kind: zero}
    "<d>":
`);
		expect(diagnostics).toEqual([]);
		expect(recipe?.tokenizer?.source).toBe("union");
		expect(recipe?.tokenizer?.padToMultipleOf).toBe(32);
		expect(recipe?.tokenizer?.tokens.map(({ token, source, force }) => ({ token, kind: source?.kind, force }))).toEqual(
			[
				{ token: "<|im_start|>", kind: "model", force: true },
				{ token: "<a>", kind: "model_token", force: false },
				{ token: "<b>", kind: "model_token", force: false },
				{ token: "<c>", kind: "zero", force: false },
				{ token: "<d>", kind: undefined, force: false },
			],
		);
		expect(recipe?.tokenizer?.tokens[1]?.source).toMatchObject({ tokenId: 7, model: { key: "org/a" } });
		expect(recipe?.tokenizer?.tokens[2]?.source).toMatchObject({ token: "<s>" });
	});

	it("names the line of a malformed token source", () => {
		expect(
			errors(
				check(`${linear}tokenizer:
  tokens:
    "<a>":
      source: {kind: model_token, model: org/a, token: x, token_id: 3}
    "<b>":
      source: {kind: copy}
    "<c>":
      force: yes please
`),
			),
		).toEqual([
			'tokenizer.tokens["<a>"].source at line 8 needs exactly one of `token` (the token text in that model) and `token_id` (its row)',
			'tokenizer.tokens["<b>"].source.kind at line 10 must be `model_token` or `zero` (or give `source` a model reference)',
			'tokenizer.tokens["<c>"].force at line 12 must be `true` or `false`',
		]);
	});

	it("refuses a token source that is not one of the models merged", () => {
		expect(errors(check(`${linear}tokenizer:\n  tokens:\n    "<a>":\n      source: org/b\n`))).toEqual([
			'the embedding of token "<a>" (line 7) comes from org/b, which is not one of the models merged; name a model from `models:`, `slices:` or `base_model`',
		]);
	});
});

describe("chat_template", () => {
	it("parses a literal template with @huggingface/jinja and reports the line", () => {
		expect(errors(check(`${linear}chat_template: "{{ messages[0]['content'] }"\n`))).toEqual([
			"the Jinja template in `chat_template` at line 5 does not parse: Parser Error: Expected closing expression token. CloseCurlyBracket !== CloseExpression.",
		]);
		expect(errors(check(`${linear}chat_template: |\n  {% for m in messages %}\n  {{ m.content }}\n`))).toEqual([
			"the Jinja template in `chat_template` at line 5 does not parse: it ends inside an unclosed block (a `{% for %}` or `{% if %}` without its `{% endfor %}` / `{% endif %}`?)",
		]);
		expect(check(`${linear}chat_template: "{{messages[0]['content']}}"\n`)).toEqual([]);
	});
});
