import { objectId } from "./git-objects.js";
import type { DiscussionStatus, StoredCommit, StoredDiscussion, StoredEvent, StoredRepo } from "./hub-types.js";

export function commentEvent(author: string, raw: string): StoredEvent {
	const now = new Date().toISOString();
	return {
		id: objectId(),
		createdAt: now,
		author,
		data: {
			type: "comment",
			comment: { raw, edited: false, hidden: false, numEdits: 0, editors: [author], updatedAt: now },
		},
	};
}

export function statusEvent(author: string, status: DiscussionStatus): StoredEvent {
	return { id: objectId(), createdAt: new Date().toISOString(), author, data: { type: "status-change", status } };
}

export function commitEvent(author: string, commit: StoredCommit): StoredEvent {
	return {
		id: objectId(),
		createdAt: commit.date,
		author,
		data: { type: "commit", subject: commit.title, oid: commit.oid, parents: commit.parents },
	};
}

/** Discussions and pull requests share one numbering per repo, starting at 1. */
export function nextDiscussionNumber(repo: StoredRepo): number {
	return repo.discussions.reduce((max, discussion) => Math.max(max, discussion.num), 0) + 1;
}

/** A discussion or pull request with its opening post as the first event. */
export function newDiscussion(params: {
	repo: StoredRepo;
	author: string;
	title: string;
	description: string;
	status: DiscussionStatus;
	pr?: { base: string; startOid: string };
}): StoredDiscussion {
	const opening = commentEvent(params.author, params.description);
	return {
		id: objectId(),
		num: nextDiscussionNumber(params.repo),
		title: params.title,
		status: params.status,
		isPullRequest: params.pr !== undefined,
		createdAt: opening.createdAt,
		author: params.author,
		pinned: false,
		...(params.pr ? { pr: params.pr } : {}),
		events: [opening],
	};
}
