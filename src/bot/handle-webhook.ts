import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { parseRecipe } from "../recipe/parse-recipe.js";
import type { Diagnostic, Recipe } from "../recipe/recipe.js";
import { validateRecipe } from "../recipe/validate-recipe.js";
import type { BotConfig } from "./bot-config.js";
import type { BotHub } from "./bot-hub.js";
import type { JobStore } from "./job-store.js";
import { type BotCommand, parseBotCommand, type RecipeText } from "./parse-bot-command.js";
import {
	BOT_MARKER,
	renderHelp,
	renderInvalidRecipe,
	renderJob,
	renderMessage,
	renderStatus,
	renderValid,
} from "./render-reply.js";
import type { WebhookPayload } from "./webhook-payload.js";

export interface BotContext {
	store: JobStore;
	hub: BotHub;
	config: BotConfig;
	log: Logger;
	/** Tells the worker a job was queued or cancelled. */
	notify(): void;
}

/** What the bot did with an event, for logs and tests. */
export type HandleOutcome = "ignored" | "duplicate" | "own-comment" | "unauthorised" | "answered" | "queued";

function checkRecipe(recipe: RecipeText): { recipe: Recipe | undefined; diagnostics: Diagnostic[] } {
	const parsed = parseRecipe(recipe.text, { lineOffset: recipe.lineOffset });
	const diagnostics = parsed.recipe ? [...parsed.diagnostics, ...validateRecipe(parsed.recipe)] : parsed.diagnostics;
	return { recipe: diagnostics.some((d) => d.severity === "error") ? undefined : parsed.recipe, diagnostics };
}

/** `owner/base-name-method-abc123`: readable, and the same recipe always lands in the same repo. */
export function defaultOutputRepo(recipe: Recipe, namespace: string): string {
	const base =
		recipe.baseModel?.model.path ??
		recipe.models?.[0]?.model.model.path ??
		recipe.slices?.[0]?.sources[0]?.model.model.path ??
		"model";
	const short = (base.split("/").pop() ?? "model").replace(/[^\w.-]/g, "-").slice(0, 40);
	const hash = createHash("sha256").update(recipe.source).digest("hex").slice(0, 6);
	return `${namespace}/${short}-${recipe.mergeMethod.replaceAll("_", "-")}-${hash}`;
}

function isWatched(config: BotConfig, repo: string): boolean {
	return config.watched.length === 0 || config.watched.some((entry) => entry === repo || repo.startsWith(`${entry}/`));
}

/**
 * The bot as a function over Hub events (Probot's shape): a comment that asks for `/merge`, `/validate`,
 * `/status`, `/cancel` or `/help` gets an answer in its thread; merges are queued for the worker.
 */
export async function handleWebhook(payload: WebhookPayload, bot: BotContext): Promise<HandleOutcome> {
	const { event, repo, discussion, comment } = payload;
	const isNewComment =
		(event.scope === "discussion.comment" && event.action === "create") ||
		(event.scope === "discussion" && event.action === "create");
	if (
		!isNewComment ||
		!discussion ||
		!comment ||
		comment.hidden ||
		comment.content === undefined ||
		repo.type !== "model"
	) {
		return "ignored";
	}
	if (comment.author.id === bot.hub.me.id || comment.content.includes(BOT_MARKER)) {
		return "own-comment";
	}
	if (!isWatched(bot.config, repo.name)) {
		return "ignored";
	}
	const command = parseBotCommand(comment.content, bot.hub.me.name);
	if (!command) {
		return "ignored";
	}
	// Hub retries and manual replays resend the same comment: one comment id, one answer.
	if (!bot.store.recordDelivery(`comment:${comment.id}`)) {
		return "duplicate";
	}
	const log = bot.log.child({ repo: repo.name, discussion: discussion.num, comment: comment.id });
	const reply = (markdown: string) => bot.hub.postComment(repo.name, discussion.num, markdown);
	const author = await bot.hub.commentAuthor(repo.name, discussion.num, comment.id);
	if (!author) {
		log.warn("comment author not found in the discussion; ignoring");
		return "ignored";
	}
	if (bot.config.allowedUsers !== "*" && !bot.config.allowedUsers.includes(author.name)) {
		await reply(
			renderMessage(`Sorry @${author.name}, this bot only takes merge requests from the accounts its operator allows.`),
		);
		log.info({ user: author.name }, "request from a user who is not allowed");
		return "unauthorised";
	}
	return respond(
		command,
		{ repo: repo.name, discussion: discussion.num, commentId: comment.id, author },
		bot,
		reply,
		log,
	);
}

async function respond(
	command: BotCommand,
	thread: { repo: string; discussion: number; commentId: string; author: { id: string; name: string } },
	bot: BotContext,
	reply: (markdown: string) => Promise<{ commentId: string }>,
	log: Logger,
): Promise<HandleOutcome> {
	switch (command.kind) {
		case "help":
			await reply(renderHelp(bot.hub.me.name));
			return "answered";
		case "usage-error":
			await reply(renderMessage(command.message));
			return "answered";
		case "status":
			await reply(renderStatus(bot.store.jobsInThread(thread.repo, thread.discussion)));
			return "answered";
		case "cancel": {
			const mine = bot.store
				.jobsInThread(thread.repo, thread.discussion)
				.filter((job) => job.requester.id === thread.author.id && (job.state === "queued" || job.state === "running"));
			for (const job of mine) {
				bot.store.cancel(job.id);
			}
			bot.notify();
			await reply(
				renderMessage(
					mine.length === 0
						? "You have no queued or running merges in this thread."
						: `Cancelled ${mine.length} job(s): ${mine.map((job) => `\`${job.id}\``).join(", ")}.`,
				),
			);
			return "answered";
		}
		case "validate": {
			const { recipe, diagnostics } = checkRecipe(command.recipe);
			await reply(
				recipe
					? renderValid(
							diagnostics,
							`Method \`${recipe.mergeMethod}\`, ${recipe.models?.length ?? recipe.slices?.length ?? 0} entries.`,
						)
					: renderInvalidRecipe(diagnostics),
			);
			return "answered";
		}
		case "merge": {
			const { recipe, diagnostics } = checkRecipe(command.recipe);
			if (!recipe) {
				await reply(renderInvalidRecipe(diagnostics));
				return "answered";
			}
			const active = bot.store
				.jobsInThread(thread.repo, thread.discussion)
				.filter((job) => job.requester.id === thread.author.id && (job.state === "queued" || job.state === "running"));
			if (active.length >= bot.config.maxJobsPerUser) {
				await reply(
					renderMessage(
						`You already have ${active.length} merges queued or running here; wait for them or \`/cancel\` first.`,
					),
				);
				return "answered";
			}
			const outputRepo = command.outputRepo ?? defaultOutputRepo(recipe, bot.config.outputNamespace ?? bot.hub.me.name);
			const job = bot.store.createJob({
				repo: thread.repo,
				discussion: thread.discussion,
				requestCommentId: thread.commentId,
				requester: thread.author,
				recipe: command.recipe.text,
				recipeLineOffset: command.recipe.lineOffset,
				outputRepo,
				private: command.private,
				replyCommentId: undefined,
			});
			const view = {
				id: job.id,
				outputRepo,
				method: recipe.mergeMethod,
				phase: "queued" as const,
				...(diagnostics.length > 0
					? { note: `${diagnostics.length} warning(s): ${diagnostics.map((d) => d.message).join(" · ")}` }
					: {}),
			};
			const position = bot.store.queuePosition(job.id);
			const posted = await reply(renderJob(position === undefined ? view : { ...view, queuePosition: position }));
			bot.store.setReplyComment(job.id, posted.commentId);
			log.info({ job: job.id, outputRepo }, "merge queued");
			bot.notify();
			return "queued";
		}
	}
}
