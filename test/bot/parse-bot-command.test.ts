import { describe, expect, it } from "vitest";
import { parseBotCommand } from "../../src/bot/parse-bot-command.js";

const recipe = "```yaml\nmerge_method: slerp\nbase_model: org/a\nmodels:\n  - model: org/b\nparameters:\n  t: 0.5\n```";

describe("bot commands in comments", () => {
	it("reads /merge with an output repo, --private, and a fenced recipe, keeping the comment's line numbers", () => {
		const command = parseBotCommand(
			`Please merge these:\n/merge me/my-merge --private\n${recipe}\nthanks`,
			"mergesmith",
		);
		expect(command).toMatchObject({ kind: "merge", outputRepo: "me/my-merge", private: true });
		expect(command?.kind === "merge" && command.recipe.lineOffset).toBe(3);
		expect(command?.kind === "merge" && command.recipe.text).toContain("merge_method: slerp");
	});

	it("treats a mention with a recipe as a merge request and ignores ordinary comments", () => {
		expect(parseBotCommand(`@mergesmith can you do this?\n${recipe}`, "mergesmith")).toMatchObject({
			kind: "merge",
			outputRepo: undefined,
		});
		expect(parseBotCommand("Nice model! What's the recipe?", "mergesmith")).toBeUndefined();
		expect(parseBotCommand(`Here is my recipe\n${recipe}`, "mergesmith")).toBeUndefined();
	});

	it("reads /validate, /status, /cancel and /help, and explains a /merge with no recipe", () => {
		expect(parseBotCommand(`/validate\n${recipe}`, "bot")?.kind).toBe("validate");
		expect(parseBotCommand("/status", "bot")?.kind).toBe("status");
		expect(parseBotCommand("/cancel", "bot")?.kind).toBe("cancel");
		expect(parseBotCommand("/help", "bot")?.kind).toBe("help");
		expect(parseBotCommand("/merge", "bot")).toMatchObject({
			kind: "usage-error",
			message: expect.stringMatching(/needs a recipe/),
		});
		expect(parseBotCommand(`/merge not-a-repo-id\n${recipe}`, "bot")).toMatchObject({ kind: "usage-error" });
	});
});
