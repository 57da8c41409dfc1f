import { namespaceOf } from "./access.js";
import type { HubStore } from "./hub-store.js";
import type { StoredDiscussion, StoredEvent, StoredRepo } from "./hub-types.js";
import { discussionUrls, repoApiUrl, repoWebUrl } from "./hub-urls.js";
import { headOf } from "./revisions.js";

export type WebhookScope = "repo" | "repo.content" | "repo.config" | "discussion" | "discussion.comment";
export type WebhookAction = "create" | "update" | "delete" | "move";

/** Something that happened on the Hub, before it is addressed to a particular webhook. */
export interface HubEvent {
	scope: WebhookScope;
	action: WebhookAction;
	repo: StoredRepo;
	/** Base of the URLs in the payload: the server's own address, so that a bot's replies come back here. */
	origin: string;
	discussion?: StoredDiscussion;
	comment?: StoredEvent;
	updatedRefs?: { ref: string; oldSha: string | null; newSha: string | null }[];
	updatedConfig?: Record<string, unknown>;
}

export interface WebhookPayloadV3 {
	event: { action: WebhookAction; scope: WebhookScope };
	repo: {
		type: StoredRepo["type"];
		name: string;
		id: string;
		private: boolean;
		url: { web: string; api: string };
		headSha?: string;
		subdomain?: string;
		owner: { id: string };
	};
	discussion?: {
		id: string;
		num: number;
		title: string;
		url: { web: string; api: string };
		status: StoredDiscussion["status"];
		author: { id: string };
		isPullRequest: boolean;
		changes?: { base: string; mergeCommitId?: string };
		pinned: boolean;
	};
	comment?: {
		id: string;
		author: { id: string };
		content?: string;
		hidden: boolean;
		url: { web: string };
	};
	updatedRefs?: { ref: string; oldSha: string | null; newSha: string | null }[];
	updatedConfig?: Record<string, unknown>;
	webhook: { id: string; version: 3 };
}

function userId(store: HubStore, name: string): string {
	return store.user(name)?.id ?? store.org(name)?.id ?? "000000000000000000000000";
}

/** The version 3 payload of the Hub's webhooks (spec §2.2): ids only for people, raw markdown for comments. */
export function webhookPayload(store: HubStore, event: HubEvent, webhookId: string): WebhookPayloadV3 {
	const { repo, discussion, comment } = event;
	const head = headOf(repo);
	const payload: WebhookPayloadV3 = {
		event: { action: event.action, scope: event.scope },
		repo: {
			type: repo.type,
			name: repo.name,
			id: repo.id,
			private: repo.private,
			url: { web: repoWebUrl(event.origin, repo), api: repoApiUrl(event.origin, repo) },
			...(event.scope.startsWith("repo") && head ? { headSha: head.oid } : {}),
			...(repo.type === "space" ? { subdomain: repo.name.replace(/[/_.]/g, "-").toLowerCase() } : {}),
			owner: { id: userId(store, namespaceOf(repo.name)) },
		},
		webhook: { id: webhookId, version: 3 },
	};
	if (discussion) {
		const urls = discussionUrls(event.origin, repo, discussion);
		payload.discussion = {
			id: discussion.id,
			num: discussion.num,
			title: discussion.title,
			url: urls,
			status: discussion.status,
			author: { id: userId(store, discussion.author) },
			isPullRequest: discussion.isPullRequest,
			...(discussion.pr
				? {
						changes: {
							base: discussion.pr.base,
							...(discussion.pr.mergeCommitId ? { mergeCommitId: discussion.pr.mergeCommitId } : {}),
						},
					}
				: {}),
			pinned: discussion.pinned,
		};
		if (comment?.data.type === "comment") {
			const hidden = comment.data.comment.hidden;
			payload.comment = {
				id: comment.id,
				author: { id: userId(store, comment.author) },
				// A hidden comment's content is left out, as on the Hub.
				...(hidden ? {} : { content: comment.data.comment.raw }),
				hidden,
				url: { web: `${urls.web}#${comment.id}` },
			};
		}
	}
	if (event.updatedRefs) {
		payload.updatedRefs = event.updatedRefs;
	}
	if (event.updatedConfig) {
		payload.updatedConfig = event.updatedConfig;
	}
	return payload;
}
