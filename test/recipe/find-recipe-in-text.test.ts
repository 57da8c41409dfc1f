import { describe, expect, it } from "vitest";
import { findRecipeInText } from "../../src/recipe/find-recipe-in-text.js";
import { parseRecipe } from "../../src/recipe/parse-recipe.js";

describe("findRecipeInText", () => {
	it("finds the yaml fence with merge_method inside chat text", () => {
		const message = [
			"Hi! Could you merge these for me?", // 1
			"", // 2
			"```python", // 3
			"print('not this')", // 4
			"```", // 5
			"```yaml", // 6
			"merge_method: linear", // 7
			"models:", // 8
			"  - model: a/b", // 9
			"```", // 10
			"Thanks!",
		].join("\n");
		const found = findRecipeInText(message);
		expect(found.ok).toBe(true);
		if (!found.ok) {
			return;
		}
		expect(found.text).toBe("merge_method: linear\nmodels:\n  - model: a/b");
		expect(found.lineOffset).toBe(6);
	});

	it("reports lines of the whole message, not of the code block", () => {
		const message = [
			"Here is my recipe, it fails:", // 1
			"", // 2
			"~~~yml", // 3
			"merge_method: ties", // 4
			"base_model: org/base", // 5
			"models:", // 6
			"  - model: org/a", // 7
			"    paramters:", // 8
			"      weight: 1", // 9
			"~~~",
		].join("\r\n");
		const found = findRecipeInText(message);
		expect(found.ok).toBe(true);
		if (!found.ok) {
			return;
		}
		const { diagnostics } = parseRecipe(found.text, { lineOffset: found.lineOffset });
		const typo = diagnostics.find((diagnostic) => diagnostic.message.includes("paramters"));
		expect(typo?.span?.line).toBe(8);
		expect(typo?.message).toContain("at line 8");
	});

	it("prefers the block holding merge_method, whatever its label", () => {
		const message = "```yaml\nfoo: 1\n```\n\n```\nmerge_method: slerp\n```\n";
		const found = findRecipeInText(message);
		expect(found.ok && found.text).toBe("merge_method: slerp");
		expect(found.ok && found.lineOffset).toBe(5);
	});

	it("takes an unfenced recipe, trimming prose around it", () => {
		const message = "Please merge:\nmerge_method: linear\nmodels:\n  - model: a/b\n\nThanks a lot!";
		const found = findRecipeInText(message);
		expect(found.ok).toBe(true);
		if (!found.ok) {
			return;
		}
		expect(found.text).toBe("merge_method: linear\nmodels:\n  - model: a/b");
		expect(found.lineOffset).toBe(1);
	});

	it("passes a plain recipe file through whole", () => {
		const recipe = "# my merge\nmerge_method: linear\nmodels:\n  - model: a/b\n    parameters:\n      weight: 1\n";
		const found = findRecipeInText(recipe);
		expect(found.ok && found.text).toBe(recipe);
		expect(found.ok && found.lineOffset).toBe(0);
	});

	it("says clearly when there is no recipe", () => {
		const found = findRecipeInText("Can you merge Mistral and Llama for me?");
		expect(found.ok).toBe(false);
		expect(!found.ok && found.error.message).toContain("no merge recipe found");
		expect(!found.ok && found.error.message).toContain("```yaml");
		const fenced = findRecipeInText("```python\nprint(1)\n```");
		expect(!fenced.ok && fenced.error.message).toContain("none holds a `merge_method:` line");
	});
});
