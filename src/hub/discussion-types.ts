/** Shapes of the Hub's discussion API (spec §3), as far as mergesmith and its bot read them. */

export type DiscussionStatus = "open" | "closed" | "merged" | "draft";

export interface DiscussionAuthor {
	_id?: string;
	name: string;
	fullname?: string;
	type?: "user" | "org";
	avatarUrl?: string;
}

interface DiscussionEventBase {
	/** 24-hex ObjectId; a comment's id is what edit and hide take. */
	id: string;
	createdAt: string;
	/** Missing for deleted users. */
	author?: DiscussionAuthor;
}

export interface DiscussionCommentEvent extends DiscussionEventBase {
	type: "comment";
	data: {
		edited: boolean;
		hidden: boolean;
		latest: { raw: string; html?: string; updatedAt?: string; author?: DiscussionAuthor };
		numEdits?: number;
	};
}

export interface DiscussionStatusChangeEvent extends DiscussionEventBase {
	type: "status-change";
	data: { status: DiscussionStatus; reason?: string };
}

export interface DiscussionCommitEvent extends DiscussionEventBase {
	type: "commit";
	data: { subject: string; oid: string; parents?: string[] };
}

export interface DiscussionTitleChangeEvent extends DiscussionEventBase {
	type: "title-change";
	data: { from: string; to: string };
}

/** The Hub may add event types; code that switches on `type` should ignore the ones it does not know. */
export type DiscussionEvent =
	| DiscussionCommentEvent
	| DiscussionStatusChangeEvent
	| DiscussionCommitEvent
	| DiscussionTitleChangeEvent;

/** One entry of the discussion list. */
export interface DiscussionSummary {
	num: number;
	title: string;
	status: DiscussionStatus;
	isPullRequest: boolean;
	createdAt: string;
	author?: DiscussionAuthor;
	repo: { name: string; type: string };
	numComments?: number;
	pinned?: boolean;
}

/** A discussion or pull request with its events, oldest first. */
export interface DiscussionDetails extends DiscussionSummary {
	events: DiscussionEvent[];
	/** Pull requests only: the branch they merge into, and the merge commit once merged. */
	changes?: { base: string; mergeCommitId?: string };
	filesWithConflicts?: string[] | true;
	diffUrl?: string;
	/** With `diff: true`, for pull requests. */
	diff?: string;
	locked?: boolean;
}
