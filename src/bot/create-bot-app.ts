import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { type BotContext, handleWebhook } from "./handle-webhook.js";
import { hubWebhook } from "./hub-webhook-middleware.js";

export interface BotApp {
	app: Hono;
	/** Resolves when every event accepted so far has been handled (tests and graceful shutdown wait on it). */
	idle(): Promise<void>;
}

/**
 * The bot's HTTP surface: `POST /webhooks/hub` verifies and acknowledges at once (202) and handles the event
 * afterwards, `GET /healthz`, and `GET /jobs/:id` with the job's state and events.
 */
export function createBotApp(bot: BotContext, options: { secret: string | undefined }): BotApp {
	const app = new Hono();
	const pending = new Set<Promise<unknown>>();
	app.post("/webhooks/hub", hubWebhook({ secret: options.secret }), (c) => {
		const payload = c.get("webhookPayload");
		const log = bot.log.child({ delivery: payload.comment?.id ?? payload.repo.headSha ?? payload.event.scope });
		const work = handleWebhook(payload, { ...bot, log })
			.then((outcome) => log.info({ outcome, scope: payload.event.scope }, "webhook handled"))
			.catch((error: unknown) => log.error({ err: error }, "webhook handling failed"))
			.finally(() => pending.delete(work));
		pending.add(work);
		return c.json({ accepted: true }, 202);
	});
	app.get("/healthz", (c) => c.json({ ok: true }));
	app.get("/jobs/:id", (c) => {
		const job = bot.store.getJob(c.req.param("id"));
		if (!job) {
			throw new HTTPException(404, { message: "no such job" });
		}
		const { recipe, ...visible } = job;
		return c.json({ ...visible, recipeLines: recipe.split("\n").length, events: bot.store.events(job.id) });
	});
	app.onError((error, c) => {
		if (error instanceof HTTPException) {
			return c.json({ error: error.message }, error.status);
		}
		bot.log.error({ err: error }, "unhandled error");
		return c.json({ error: "internal error" }, 500);
	});
	return {
		app,
		idle: async () => {
			while (pending.size > 0) {
				await Promise.allSettled([...pending]);
			}
		},
	};
}
