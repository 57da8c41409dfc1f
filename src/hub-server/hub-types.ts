/** Data the local Hub keeps on disk. Names follow the Hub's JSON where the value is served as is. */

export type RepoType = "model" | "dataset" | "space";
export type TokenRole = "read" | "write" | "admin";
export type OrgRole = "read" | "write" | "admin";
export type GatedMode = false | "auto" | "manual";

export interface StoredUser {
	id: string;
	name: string;
	fullname: string;
	email: string;
	isPro: boolean;
}

export interface StoredOrg {
	id: string;
	name: string;
	fullname: string;
	members: { user: string; role: OrgRole }[];
}

export interface StoredToken {
	token: string;
	user: string;
	role: TokenRole;
	displayName: string;
	createdAt: string;
}

export interface StoredWebhook {
	id: string;
	/** The user who registered it: it only hears about repos that user can read. */
	owner: string;
	url: string;
	watched: { type: "user" | "org" | RepoType; name: string }[];
	domains: ("repo" | "discussion")[];
	secret: string | null;
	disabled: boolean;
}

/** One file of a commit's tree. Every file's bytes live in the object store under their sha256. */
export interface StoredFile {
	size: number;
	sha256: string;
	/** Git blob sha1 of what git stores: the content, or the LFS pointer for LFS files. */
	oid: string;
	lfs: boolean;
	/** The commit that last changed this path. */
	lastCommit: string;
}

export interface StoredCommit {
	oid: string;
	parents: string[];
	title: string;
	message: string;
	author: string;
	date: string;
	treeOid: string;
	files: Record<string, StoredFile>;
}

export interface StoredCommentData {
	raw: string;
	edited: boolean;
	hidden: boolean;
	numEdits: number;
	editors: string[];
	updatedAt: string;
	hiddenBy?: string;
}

export type StoredEventData =
	| { type: "comment"; comment: StoredCommentData }
	| { type: "status-change"; status: DiscussionStatus }
	| { type: "commit"; subject: string; oid: string; parents: string[] }
	| { type: "title-change"; from: string; to: string };

export interface StoredEvent {
	id: string;
	createdAt: string;
	author: string;
	data: StoredEventData;
}

export type DiscussionStatus = "open" | "closed" | "merged" | "draft";

export interface StoredDiscussion {
	id: string;
	num: number;
	title: string;
	status: DiscussionStatus;
	isPullRequest: boolean;
	createdAt: string;
	author: string;
	pinned: boolean;
	/** Pull requests only: the branch they target, the commit they started from, the merge commit once merged. */
	pr?: { base: string; startOid: string; mergeCommitId?: string };
	events: StoredEvent[];
}

export interface StoredRepo {
	id: string;
	type: RepoType;
	/** `namespace/name`. */
	name: string;
	private: boolean;
	gated: GatedMode;
	/** Users granted access to a gated repo (members of its namespace always have it). */
	grantedUsers: string[];
	createdAt: string;
	defaultBranch: string;
	/** Full ref names (`refs/heads/main`, `refs/pr/1`) to commit shas. */
	refs: Record<string, string>;
	commits: Record<string, StoredCommit>;
	discussions: StoredDiscussion[];
}

export interface HubState {
	/** Key for the signatures of upload and download URLs. */
	signingKey: string;
	users: StoredUser[];
	orgs: StoredOrg[];
	tokens: StoredToken[];
	webhooks: StoredWebhook[];
}

/** Who is calling: the token's user and the token's role, or nobody. */
export interface Viewer {
	user: StoredUser;
	token: StoredToken;
}
