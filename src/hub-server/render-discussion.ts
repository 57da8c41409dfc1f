import { isMember, namespaceOf } from "./access.js";
import { avatarUrl } from "./avatar-url.js";
import type { HubStore } from "./hub-store.js";
import type { StoredDiscussion, StoredEvent, StoredRepo } from "./hub-types.js";

const HIDDEN_TEXT = "This comment has been hidden";

function escapeHtml(text: string): string {
	return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Comment HTML: paragraphs of escaped text (the Hub renders markdown; clients read `raw`). */
function renderHtml(raw: string): string {
	return raw
		.split(/\n{2,}/)
		.filter((paragraph) => paragraph.trim() !== "")
		.map((paragraph) => `<p>${escapeHtml(paragraph).replace(/\n/g, "<br>\n")}</p>\n`)
		.join("");
}

export function authorJson(store: HubStore, repo: StoredRepo, name: string): Record<string, unknown> {
	const user = store.user(name);
	const owner = namespaceOf(repo.name);
	return {
		_id: user?.id ?? "000000000000000000000000",
		name,
		fullname: user?.fullname ?? name,
		avatarUrl: avatarUrl(name),
		type: "user",
		isPro: user?.isPro ?? false,
		isHf: false,
		isHfAdmin: false,
		isMod: false,
		isOwner: name === owner,
		isOrgMember: store.org(owner) !== undefined && isMember(store, owner, name),
	};
}

/** One event of a discussion as the Hub serves it in `events`, `newMessage`, `updatedComment`, … (spec §3.1). */
export function eventJson(store: HubStore, repo: StoredRepo, event: StoredEvent): Record<string, unknown> {
	const base = {
		id: event.id,
		type: event.data.type,
		createdAt: event.createdAt,
		author: authorJson(store, repo, event.author),
	};
	switch (event.data.type) {
		case "comment": {
			const comment = event.data.comment;
			const raw = comment.hidden ? HIDDEN_TEXT : comment.raw;
			const user = store.user(event.author);
			return {
				...base,
				data: {
					edited: comment.edited,
					hidden: comment.hidden,
					...(comment.hiddenBy ? { hiddenBy: comment.hiddenBy } : {}),
					latest: {
						raw,
						html: renderHtml(raw),
						updatedAt: comment.updatedAt,
						author: { _id: user?.id ?? "000000000000000000000000", name: event.author, type: "user" },
					},
					numEdits: comment.numEdits,
					editors: comment.editors,
					editorAvatarUrls: comment.editors.map(avatarUrl),
					reactions: [],
					isReport: false,
				},
			};
		}
		case "status-change":
			return { ...base, data: { status: event.data.status } };
		case "commit":
			return { ...base, data: { subject: event.data.subject, oid: event.data.oid, parents: event.data.parents } };
		case "title-change":
			return { ...base, data: { from: event.data.from, to: event.data.to } };
	}
}

/** An entry of `GET …/discussions` (spec §3.2). */
export function discussionListItem(
	store: HubStore,
	repo: StoredRepo,
	discussion: StoredDiscussion,
): Record<string, unknown> {
	const owner = namespaceOf(repo.name);
	return {
		num: discussion.num,
		title: discussion.title,
		status: discussion.status,
		isPullRequest: discussion.isPullRequest,
		createdAt: discussion.createdAt,
		author: authorJson(store, repo, discussion.author),
		repo: { name: repo.name, type: repo.type },
		numComments: discussion.events.filter((event) => event.data.type === "comment").length,
		pinned: discussion.pinned,
		topReactions: [],
		numReactionUsers: 0,
		repoOwner: {
			name: owner,
			type: store.org(owner) ? "org" : "user",
			isParticipating: false,
			isDiscussionAuthor: discussion.author === owner,
		},
	};
}
