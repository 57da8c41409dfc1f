import { timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { type WebhookPayload, WebhookPayloadSchema } from "./webhook-payload.js";

export interface HubWebhookOptions {
	/** The secret the webhook was created with; undefined only in explicit development mode. */
	secret: string | undefined;
	/** Largest accepted body in bytes. */
	maxBytes?: number;
}

declare module "hono" {
	interface ContextVariableMap {
		webhookPayload: WebhookPayload;
	}
}

function sameSecret(given: string, expected: string): boolean {
	const a = Buffer.from(given);
	const b = Buffer.from(expected);
	// timingSafeEqual needs equal lengths; comparing against itself keeps the time independent of the guess.
	return a.length === b.length ? timingSafeEqual(a, b) : !timingSafeEqual(b, b);
}

/**
 * Verifies a Hub webhook before anything reads it: the `X-Webhook-Secret` header in constant time, JSON content,
 * a size limit on the raw body, then the v3 payload's shape. The parsed payload is set as `webhookPayload`.
 *
 * @example
 * app.post("/webhooks/hub", hubWebhook({ secret: process.env.WEBHOOK_SECRET }), (c) => ...)
 */
export function hubWebhook(options: HubWebhookOptions): MiddlewareHandler {
	const maxBytes = options.maxBytes ?? 256 * 1024;
	return async function hubWebhookMiddleware(c, next) {
		if (options.secret !== undefined) {
			const given = c.req.header("x-webhook-secret");
			if (given === undefined) {
				throw new HTTPException(401, { message: "X-Webhook-Secret header not set" });
			}
			if (!sameSecret(given, options.secret)) {
				throw new HTTPException(403, { message: "Invalid webhook secret" });
			}
		}
		if (!(c.req.header("content-type") ?? "").startsWith("application/json")) {
			throw new HTTPException(415, { message: "webhook payloads must be application/json" });
		}
		const declared = Number(c.req.header("content-length") ?? "0");
		if (declared > maxBytes) {
			throw new HTTPException(413, { message: `payload over ${maxBytes} bytes` });
		}
		const raw = await c.req.arrayBuffer();
		if (raw.byteLength > maxBytes) {
			throw new HTTPException(413, { message: `payload over ${maxBytes} bytes` });
		}
		let json: unknown;
		try {
			json = JSON.parse(new TextDecoder().decode(raw));
		} catch {
			throw new HTTPException(400, { message: "payload is not valid JSON" });
		}
		const parsed = WebhookPayloadSchema.safeParse(json);
		if (!parsed.success) {
			throw new HTTPException(400, {
				message: `not a v3 Hub webhook payload: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`,
			});
		}
		c.set("webhookPayload", parsed.data);
		await next();
	};
}
