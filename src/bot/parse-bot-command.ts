import { findRecipeInText } from "../recipe/find-recipe-in-text.js";

/** What a discussion comment asks of the bot. */
export type BotCommand =
	| { kind: "merge"; outputRepo: string | undefined; private: boolean; recipe: RecipeText }
	| { kind: "validate"; recipe: RecipeText }
	| { kind: "status" }
	| { kind: "cancel" }
	| { kind: "help" }
	| { kind: "usage-error"; message: string };

export interface RecipeText {
	text: string;
	/** Lines before the recipe in the comment, so errors name the comment's own line numbers. */
	lineOffset: number;
}

const REPO_ID = /^[\w.-]+\/[\w.-]+$/;

/**
 * Reads a comment addressed to the bot: a line starting with `/merge`, `/validate`, `/status`, `/cancel` or `/help`,
 * or a mention of the bot's account with a fenced recipe (treated as `/merge`). Undefined when the comment is not
 * for the bot.
 */
export function parseBotCommand(comment: string, botName: string): BotCommand | undefined {
	const lines = comment.split(/\r?\n/);
	const commandLine = lines.find((line) => /^\s*\/(merge|validate|status|cancel|help)\b/.test(line));
	const mentioned = new RegExp(`(^|\\s)@${botName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`).test(comment);
	if (!commandLine && !mentioned) {
		return undefined;
	}
	const [word, ...args] = (commandLine ?? "/merge").trim().split(/\s+/);
	const recipe = (): RecipeText | undefined => {
		const found = findRecipeInText(comment);
		return found.ok ? { text: found.text, lineOffset: found.lineOffset } : undefined;
	};
	switch (word) {
		case "/status":
			return { kind: "status" };
		case "/cancel":
			return { kind: "cancel" };
		case "/help":
			return { kind: "help" };
		case "/validate": {
			const text = recipe();
			return text
				? { kind: "validate", recipe: text }
				: { kind: "usage-error", message: "`/validate` needs a recipe in a ```yaml code block below the command." };
		}
		default: {
			const text = recipe();
			if (!text) {
				return commandLine
					? { kind: "usage-error", message: "`/merge` needs a recipe in a ```yaml code block below the command." }
					: undefined;
			}
			let outputRepo: string | undefined;
			let isPrivate = false;
			for (const arg of args) {
				if (arg === "--private") {
					isPrivate = true;
				} else if (REPO_ID.test(arg) && outputRepo === undefined) {
					outputRepo = arg;
				} else {
					return {
						kind: "usage-error",
						message: `\`/merge\` takes \`[OWNER/NAME] [--private]\`; \`${arg}\` is neither.`,
					};
				}
			}
			return { kind: "merge", outputRepo, private: isPrivate, recipe: text };
		}
	}
}
