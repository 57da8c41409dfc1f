import { findRecipeInText } from "../recipe/find-recipe-in-text.js";

/** What a discussion comment asks of the bot. */
export type BotCommand =
	| { kind: "merge"; outputRepo: string | undefined; private: boolean; follow: boolean; recipe: RecipeText }
	| {
			kind: "schedule";
			cron: string | undefined;
			timezone: string | undefined;
			outputRepo: string | undefined;
			private: boolean;
			follow: boolean;
			pullRequest: boolean;
			recipe: RecipeText;
	  }
	| { kind: "unschedule"; id: string | undefined }
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

/** Words of a command line; a quoted argument (a cron expression has spaces) is one word, without its quotes. */
function words(line: string): { text: string; quoted: boolean }[] {
	return [...line.matchAll(/"([^"]*)"|'([^']*)'|“([^”]*)”|(\S+)/g)].map((match) => ({
		text: match[1] ?? match[2] ?? match[3] ?? match[4] ?? "",
		quoted: match[4] === undefined,
	}));
}

/**
 * Reads a comment addressed to the bot: a line starting with `/merge`, `/schedule`, `/unschedule`, `/validate`,
 * `/status`, `/cancel` or `/help`, or a mention of the bot's account with a fenced recipe (treated as `/merge`).
 * Undefined when the comment is not for the bot.
 */
export function parseBotCommand(comment: string, botName: string): BotCommand | undefined {
	const lines = comment.split(/\r?\n/);
	const commandLine = lines.find((line) =>
		/^\s*\/(merge|schedule|unschedule|validate|status|cancel|help)\b/.test(line),
	);
	const mentioned = new RegExp(`(^|\\s)@${botName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`).test(comment);
	if (!commandLine && !mentioned) {
		return undefined;
	}
	const [first, ...rest] = words((commandLine ?? "/merge").trim());
	const word = first?.text;
	const args = rest.map((arg) => arg.text);
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
		case "/unschedule":
			return { kind: "unschedule", id: args[0] };
		case "/schedule":
			return parseSchedule(rest, recipe());
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
			let follow = false;
			for (const arg of args) {
				if (arg === "--private") {
					isPrivate = true;
				} else if (arg === "--follow") {
					follow = true;
				} else if (REPO_ID.test(arg) && outputRepo === undefined) {
					outputRepo = arg;
				} else {
					return {
						kind: "usage-error",
						message: `\`/merge\` takes \`[OWNER/NAME] [--private] [--follow]\`; \`${arg}\` is none of them.`,
					};
				}
			}
			return { kind: "merge", outputRepo, private: isPrivate, follow, recipe: text };
		}
	}
}

const SCHEDULE_USAGE =
	'`/schedule "CRON" [OWNER/NAME] [--tz ZONE] [--follow] [--pr] [--private]` with a recipe in a ```yaml block, e.g. `/schedule "0 3 * * *" --follow`';

/** `/schedule "0 3 * * *" [OWNER/NAME] [--tz ZONE] [--follow] [--pr] [--private]` (a `@daily` nickname needs no quotes). */
function parseSchedule(args: { text: string; quoted: boolean }[], recipe: RecipeText | undefined): BotCommand {
	if (!recipe) {
		return { kind: "usage-error", message: `\`/schedule\` needs a recipe: ${SCHEDULE_USAGE}.` };
	}
	let cron: string | undefined;
	let timezone: string | undefined;
	let outputRepo: string | undefined;
	let isPrivate = false;
	let follow = false;
	let pullRequest = false;
	for (let index = 0; index < args.length; index++) {
		const arg = args[index] as { text: string; quoted: boolean };
		if ((arg.quoted || arg.text.startsWith("@")) && cron === undefined) {
			cron = arg.text.trim();
		} else if (arg.text === "--tz" && args[index + 1] !== undefined) {
			timezone = args[++index]?.text;
		} else if (arg.text === "--follow") {
			follow = true;
		} else if (arg.text === "--pr") {
			pullRequest = true;
		} else if (arg.text === "--private") {
			isPrivate = true;
		} else if (REPO_ID.test(arg.text) && outputRepo === undefined) {
			outputRepo = arg.text;
		} else {
			return {
				kind: "usage-error",
				message: `\`${arg.text}\` is not an argument of \`/schedule\`; it takes ${SCHEDULE_USAGE} (the cron expression in quotes).`,
			};
		}
	}
	if (cron === undefined && !follow) {
		return {
			kind: "usage-error",
			message: `\`/schedule\` needs a cron expression, \`--follow\`, or both: ${SCHEDULE_USAGE}.`,
		};
	}
	return { kind: "schedule", cron, timezone, outputRepo, private: isPrivate, follow, pullRequest, recipe };
}
