import { createHash, randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { formatBytes } from "../cli/format-bytes.js";
import { estimateResources } from "../models/estimate-resources.js";
import { isHubRepoId } from "../models/is-hub-repo-id.js";
import type { ModelSourceOptions } from "../models/load-model.js";
import { ModelError } from "../models/model-error.js";
import { preflightModels } from "../models/preflight-models.js";
import type { MergePlan } from "../plan/merge-plan.js";
import { PlanError } from "../plan/plan-error.js";
import { planMerge } from "../plan/plan-merge.js";
import { referencedModels } from "../plan/referenced-models.js";
import { parseRecipe } from "../recipe/parse-recipe.js";
import type { Diagnostic, Recipe } from "../recipe/recipe.js";
import { validateRecipe } from "../recipe/validate-recipe.js";
import { SafetensorsError } from "../safetensors/safetensors-error.js";
import { defineSchedule } from "../schedule/define-schedule.js";
import type { ScheduleStore } from "../schedule/schedule-store.js";
import type { Scheduler } from "../schedule/scheduler.js";
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
	renderPreflight,
	renderRefusal,
	renderScheduled,
	renderStatus,
	renderValid,
} from "./render-reply.js";
import type { WebhookPayload } from "./webhook-payload.js";

export interface BotContext {
	store: JobStore;
	hub: BotHub;
	/** How the preflight reads models: the Hub with the bot's token, and the bot's cache folder. */
	models: ModelSourceOptions;
	config: BotConfig;
	log: Logger;
	/** Tells the worker a job was queued or cancelled. */
	notify(): void;
	/** Scheduled and followed merges; without them `/schedule` and `--follow` are refused, parent changes ignored. */
	schedules?: { store: ScheduleStore; scheduler: Scheduler };
}

/** What the bot did with an event, for logs and tests. */
export type HandleOutcome =
	| "ignored"
	| "duplicate"
	| "own-comment"
	| "unauthorised"
	| "answered"
	| "queued"
	| "parent-changed";

/**
 * The preflight the first answer reports, from Hub metadata only: every input resolved to a commit, its access
 * checked against who asks, and the plan with its size and estimates. A string is a refusal to show as it is.
 */
async function preflight(recipe: Recipe, requester: string, bot: BotContext): Promise<MergePlan | string> {
	const references = referencedModels(recipe);
	const local = references.find(
		(reference) =>
			!isHubRepoId(reference.model.path) || (reference.lora !== undefined && !isHubRepoId(reference.lora.path)),
	);
	if (local) {
		return `line ${local.span.line}: \`${local.key}\` is not a Hub repo id (owner/name); the bot merges models from the Hub only.`;
	}
	try {
		const loaded = await preflightModels(references, bot.models);
		for (const model of loaded.values()) {
			const restricted = model.hub?.private ? "private" : model.hub?.gated ? "gated" : undefined;
			if (restricted && !bot.config.trustedUsers.includes(requester)) {
				return `line ${model.reference.span.line}: ${model.reference.model.path} is ${restricted}. The bot reads ${restricted} models with its own token only for trusted accounts, and @${requester} is not one; run this merge yourself with \`mergesmith merge\` and your own token.`;
			}
		}
		const plan = planMerge(recipe, loaded);
		if (plan.bytesToRead > bot.config.maxInputBytes) {
			return `this merge reads ${formatBytes(plan.bytesToRead)} of weights, more than this bot accepts (${formatBytes(bot.config.maxInputBytes)}).`;
		}
		return plan;
	} catch (error) {
		if (error instanceof ModelError || error instanceof PlanError || error instanceof SafetensorsError) {
			return error.message;
		}
		throw error;
	}
}

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

/** Why a user may not define another schedule from a thread, if they may not. */
function scheduleRefusal(bot: BotContext, author: { id: string }): string | undefined {
	if (!bot.schedules) {
		return "This bot does not keep merges current: its operator has not enabled schedules.";
	}
	const theirs = bot.schedules.store.list().filter((schedule) => schedule.requester.id === author.id).length;
	return theirs >= bot.config.maxSchedulesPerUser
		? `You already have ${theirs} schedules, the most this bot keeps per user; \`/unschedule\` one first.`
		: undefined;
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
	if (event.scope === "repo.content" && bot.schedules) {
		// A commit on a parent of followed merges; replays of the same change are dropped.
		const key = `content:${repo.type}:${repo.name}:${(payload.updatedRefs ?? []).map((ref) => `${ref.ref}=${ref.newSha}`).join(",") || repo.headSha}`;
		if (repo.type !== "model" || !bot.store.recordDelivery(key)) {
			return "ignored";
		}
		const marked = bot.schedules.scheduler.parentChanged(repo.name, payload.updatedRefs);
		if (marked.length > 0) {
			bot.log.info({ repo: repo.name, schedules: marked }, "a followed parent changed");
		}
		return marked.length > 0 ? "parent-changed" : "ignored";
	}
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

/**
 * The checks every recipe command shares, in order: the recipe's own errors, a refusal that needs no models (limits),
 * then the preflight on the Hub. When the request stops at one of them, the answer is posted and undefined returned.
 */
async function admitRecipe(
	text: RecipeText,
	refusal: string | undefined,
	requester: { name: string },
	bot: BotContext,
	reply: (markdown: string) => Promise<{ commentId: string }>,
): Promise<{ recipe: Recipe; diagnostics: Diagnostic[]; plan: MergePlan } | undefined> {
	const { recipe, diagnostics } = checkRecipe(text);
	if (!recipe) {
		await reply(renderInvalidRecipe(diagnostics));
		return undefined;
	}
	if (refusal) {
		await reply(renderMessage(refusal));
		return undefined;
	}
	const plan = await preflight(recipe, requester.name, bot);
	if (typeof plan === "string") {
		await reply(renderRefusal(plan));
		return undefined;
	}
	return { recipe, diagnostics, plan };
}

/** Why a user may not queue another merge now (concurrent jobs, hourly requests, schedules), if they may not. */
function mergeLimitRefusal(
	bot: BotContext,
	thread: { repo: string; discussion: number; author: { id: string; name: string } },
	follow: boolean,
): string | undefined {
	const active = bot.store
		.jobsInThread(thread.repo, thread.discussion)
		.filter((job) => job.requester.id === thread.author.id && (job.state === "queued" || job.state === "running"));
	if (active.length >= bot.config.maxJobsPerUser) {
		return `You already have ${active.length} merges queued or running here; wait for them or \`/cancel\` first.`;
	}
	if (bot.store.requestsSince(thread.author.id, Date.now() - 3_600_000) >= bot.config.requestsPerHour) {
		return `You have asked for ${bot.config.requestsPerHour} merges in the last hour, the most this bot takes; try again later.`;
	}
	return follow ? scheduleRefusal(bot, thread.author) : undefined;
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
			await reply(
				renderStatus(
					bot.store.jobsInThread(thread.repo, thread.discussion),
					(bot.schedules?.store.list() ?? []).filter(
						(schedule) => schedule.thread?.repo === thread.repo && schedule.thread.discussion === thread.discussion,
					),
				),
			);
			return "answered";
		case "unschedule": {
			const mine = (bot.schedules?.store.list() ?? []).filter(
				(schedule) =>
					schedule.thread?.repo === thread.repo &&
					schedule.thread.discussion === thread.discussion &&
					schedule.requester.id === thread.author.id &&
					(command.id === undefined || schedule.id === command.id),
			);
			for (const schedule of mine) {
				bot.schedules?.store.remove(schedule.id);
			}
			await reply(
				renderMessage(
					mine.length === 0
						? `You have no schedules${command.id === undefined ? "" : ` with id \`${command.id}\``} in this thread.`
						: `Removed ${mine.length} schedule(s): ${mine.map((schedule) => `\`${schedule.id}\``).join(", ")}. What they published stays as it is.`,
				),
			);
			return "answered";
		}
		case "schedule": {
			const admitted = await admitRecipe(
				command.recipe,
				scheduleRefusal(bot, thread.author),
				thread.author,
				bot,
				reply,
			);
			if (!admitted) {
				return "answered";
			}
			const { recipe } = admitted;
			const defined = defineSchedule(
				{
					source: "thread",
					recipe: command.recipe,
					target: command.outputRepo ?? defaultOutputRepo(recipe, bot.config.outputNamespace ?? bot.hub.me.name),
					private: command.private,
					publish: command.pullRequest ? "pull-request" : "commit",
					...(command.cron === undefined ? {} : { cron: command.cron }),
					...(command.timezone === undefined ? {} : { timezone: command.timezone }),
					follow: command.follow,
					thread: { repo: thread.repo, discussion: thread.discussion },
					requester: thread.author,
				},
				bot.config,
			);
			if (!defined.ok) {
				await reply(renderRefusal(defined.errors.join(" ")));
				return "answered";
			}
			const schedule = bot.schedules?.scheduler.add(defined.definition);
			if (schedule) {
				await reply(renderScheduled(schedule, bot.config.followDebounceSeconds));
				log.info({ schedule: schedule.id, target: schedule.target }, "merge scheduled");
			}
			return "answered";
		}
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
			const admitted = await admitRecipe(command.recipe, undefined, thread.author, bot, reply);
			if (admitted) {
				await reply(
					renderValid(admitted.diagnostics, renderPreflight(admitted.plan, estimateResources(admitted.plan))),
				);
			}
			return "answered";
		}
		case "merge": {
			const admitted = await admitRecipe(
				command.recipe,
				mergeLimitRefusal(bot, thread, command.follow),
				thread.author,
				bot,
				reply,
			);
			if (!admitted) {
				return "answered";
			}
			const { recipe, diagnostics, plan } = admitted;
			const outputRepo = command.outputRepo ?? defaultOutputRepo(recipe, bot.config.outputNamespace ?? bot.hub.me.name);
			const follow = command.follow
				? defineSchedule(
						{
							source: "thread",
							recipe: command.recipe,
							target: outputRepo,
							private: command.private,
							follow: true,
							thread: { repo: thread.repo, discussion: thread.discussion },
							requester: thread.author,
						},
						bot.config,
					)
				: undefined;
			if (follow && !follow.ok) {
				await reply(renderRefusal(follow.errors.join(" ")));
				return "answered";
			}
			// The job first, then its schedule: a scheduler tick in between sees the job and waits for it.
			const scheduleId = follow ? randomBytes(4).toString("hex") : undefined;
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
				...(scheduleId === undefined
					? {}
					: {
							schedule: {
								scheduleId,
								triggers: ["first merge"],
								previous: undefined,
								publish: "commit" as const,
								runner: "local" as const,
							},
						}),
			});
			if (follow?.ok && scheduleId !== undefined) {
				bot.schedules?.scheduler.add(follow.definition, { id: scheduleId, checked: true });
			}
			const view = {
				id: job.id,
				outputRepo,
				method: recipe.mergeMethod,
				phase: "queued" as const,
				preflight: renderPreflight(plan, estimateResources(plan)),
				...(diagnostics.length > 0 || scheduleId !== undefined
					? {
							note: [
								...(diagnostics.length > 0
									? [`${diagnostics.length} warning(s): ${diagnostics.map((d) => d.message).join(" · ")}`]
									: []),
								...(scheduleId === undefined
									? []
									: [
											`This merge follows its parents (schedule \`${scheduleId}\`): it is merged and published again when one of them changes. \`/unschedule ${scheduleId}\` stops that.`,
										]),
							].join(" "),
						}
					: {}),
			};
			bot.store.addEvent(job.id, "preflight", {
				markdown: view.preflight,
				...(view.note === undefined ? {} : { note: view.note }),
			});
			const position = bot.store.queuePosition(job.id);
			const posted = await reply(renderJob(position === undefined ? view : { ...view, queuePosition: position }));
			bot.store.setReplyComment(job.id, posted.commentId);
			log.info({ job: job.id, outputRepo }, "merge queued");
			bot.notify();
			return "queued";
		}
	}
}
