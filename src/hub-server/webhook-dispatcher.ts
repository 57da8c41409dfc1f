import { namespaceOf, userCanRead } from "./access.js";
import { objectId } from "./git-objects.js";
import type { HubStore } from "./hub-store.js";
import type { StoredWebhook } from "./hub-types.js";
import { type HubEvent, type WebhookPayloadV3, webhookPayload } from "./webhook-payload.js";

export interface WebhookDeliveryOptions {
	/** Tries per delivery, the first included (default 3). */
	attempts?: number;
	/** Wait before the second try; doubled before each later one (default 500 ms). */
	retryDelayMs?: number;
	/** How long one try may take before it counts as failed (default 10 s). */
	timeoutMs?: number;
	fetch?: typeof fetch;
}

export interface WebhookDelivery {
	id: string;
	webhookId: string;
	payload: WebhookPayloadV3;
	state: "pending" | "delivered" | "failed";
	tries: { at: string; status?: number; error?: string }[];
}

const KEPT_DELIVERIES = 500;

function watches(webhook: StoredWebhook, event: HubEvent): boolean {
	const domain = event.scope.startsWith("discussion") ? "discussion" : "repo";
	// The Python client's constants spell the domain "discussions"; both are accepted when registering.
	if (!webhook.domains.includes(domain)) {
		return false;
	}
	return webhook.watched.some((watched) =>
		watched.type === "user" || watched.type === "org"
			? watched.name === namespaceOf(event.repo.name)
			: watched.type === event.repo.type && watched.name === event.repo.name,
	);
}

/**
 * Delivers webhook events like the Hub: one POST per event and webhook, JSON v3 payload, `X-Webhook-Secret`,
 * asynchronously (the request that caused the event does not wait), retried on network errors and non-2xx answers
 * a bounded number of times. Deliveries to one webhook go out in order. A past delivery can be replayed.
 */
export class WebhookDispatcher {
	private readonly store: HubStore;
	private readonly attempts: number;
	private readonly retryDelayMs: number;
	private readonly timeoutMs: number;
	private readonly fetch: typeof fetch;
	private readonly queues = new Map<string, Promise<void>>();
	private readonly log: WebhookDelivery[] = [];
	private readonly closing = new AbortController();

	constructor(store: HubStore, options: WebhookDeliveryOptions = {}) {
		this.store = store;
		this.attempts = Math.max(1, options.attempts ?? 3);
		this.retryDelayMs = options.retryDelayMs ?? 500;
		this.timeoutMs = options.timeoutMs ?? 10_000;
		this.fetch = options.fetch ?? fetch;
	}

	/** Queues the event for every enabled webhook that watches its repo, in its domain, and whose owner can read it. */
	emit(event: HubEvent): void {
		for (const webhook of this.store.webhooks) {
			if (webhook.disabled || !watches(webhook, event)) {
				continue;
			}
			if (!userCanRead(this.store, event.repo, webhook.owner)) {
				continue;
			}
			this.enqueue({
				id: objectId(),
				webhookId: webhook.id,
				payload: webhookPayload(this.store, event, webhook.id),
				state: "pending",
				tries: [],
			});
		}
	}

	/** Sends a past delivery's payload again, to the webhook's current URL and secret. */
	replay(deliveryId: string): WebhookDelivery {
		const past = this.log.find((delivery) => delivery.id === deliveryId);
		if (!past) {
			throw new Error(`no delivery ${deliveryId}`);
		}
		const delivery: WebhookDelivery = { ...past, id: objectId(), state: "pending", tries: [] };
		this.enqueue(delivery);
		return delivery;
	}

	deliveries(webhookId?: string): readonly WebhookDelivery[] {
		return webhookId === undefined ? this.log : this.log.filter((delivery) => delivery.webhookId === webhookId);
	}

	/** Resolves once every queued delivery has succeeded or used up its tries. */
	async idle(): Promise<void> {
		let pending = [...this.queues.values()];
		while (pending.length > 0) {
			await Promise.all(pending);
			const next = [...this.queues.values()];
			pending = next.filter((queue) => !pending.includes(queue));
		}
	}

	/** Stops retries waiting for their turn; deliveries in flight finish or time out. */
	close(): void {
		this.closing.abort();
	}

	private enqueue(delivery: WebhookDelivery): void {
		this.log.push(delivery);
		if (this.log.length > KEPT_DELIVERIES) {
			this.log.splice(0, this.log.length - KEPT_DELIVERIES);
		}
		const previous = this.queues.get(delivery.webhookId) ?? Promise.resolve();
		const next = previous.then(() => this.deliver(delivery));
		this.queues.set(delivery.webhookId, next);
		void next.then(() => {
			if (this.queues.get(delivery.webhookId) === next) {
				this.queues.delete(delivery.webhookId);
			}
		});
	}

	private async deliver(delivery: WebhookDelivery): Promise<void> {
		for (let attempt = 0; attempt < this.attempts; attempt++) {
			if (attempt > 0 && !(await this.wait(this.retryDelayMs * 2 ** (attempt - 1)))) {
				break;
			}
			const webhook = this.store.webhooks.find((candidate) => candidate.id === delivery.webhookId);
			if (!webhook || webhook.disabled) {
				break;
			}
			const at = new Date().toISOString();
			try {
				const response = await this.fetch(webhook.url, {
					method: "POST",
					headers: {
						"Content-Type": "application/json",
						...(webhook.secret ? { "X-Webhook-Secret": webhook.secret } : {}),
					},
					body: JSON.stringify(delivery.payload),
					signal: AbortSignal.timeout(this.timeoutMs),
				});
				await response.body?.cancel();
				delivery.tries.push({ at, status: response.status });
				if (response.ok) {
					delivery.state = "delivered";
					return;
				}
			} catch (error) {
				delivery.tries.push({ at, error: (error as Error).message });
			}
		}
		delivery.state = "failed";
	}

	private wait(ms: number): Promise<boolean> {
		if (this.closing.signal.aborted) {
			return Promise.resolve(false);
		}
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				this.closing.signal.removeEventListener("abort", onAbort);
				resolve(true);
			}, ms);
			const onAbort = (): void => {
				clearTimeout(timer);
				resolve(false);
			};
			this.closing.signal.addEventListener("abort", onAbort, { once: true });
		});
	}
}
