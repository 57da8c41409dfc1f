import { canWrite, requireParticipant } from "./access.js";
import { HubError, revisionNotFound } from "./hub-error.js";
import type { HubStore } from "./hub-store.js";
import type { StoredDiscussion, StoredRepo, Viewer } from "./hub-types.js";
import { pullRequestNumber, writableRef } from "./revisions.js";

export type CommitTarget =
	| { kind: "branch"; ref: string }
	| { kind: "pull-request"; ref: string; discussion: StoredDiscussion }
	| { kind: "new-pull-request"; baseRef: string };

/**
 * Where a commit (or its preupload) to `revision` goes, and whether the caller may make it: a branch needs write
 * access; `create_pr=1` opens a pull request, which any signed-in user who can read the repo may do; a pull
 * request's ref takes commits from its author and from writers.
 */
export function commitTarget(
	store: HubStore,
	repo: StoredRepo,
	revision: string,
	createPr: boolean,
	viewer: Viewer | undefined,
): CommitTarget {
	const signedIn = requireParticipant(viewer);
	const ref = writableRef(repo, revision);
	if (!ref) {
		throw revisionNotFound(revision);
	}
	const writer = canWrite(store, repo, signedIn);
	const number = pullRequestNumber(ref);
	if (createPr) {
		if (number !== undefined) {
			throw new HubError(400, "A pull request cannot be opened from a pull request's ref");
		}
		return { kind: "new-pull-request", baseRef: ref };
	}
	if (number !== undefined) {
		const discussion = repo.discussions.find((candidate) => candidate.num === number);
		if (!discussion) {
			throw revisionNotFound(revision);
		}
		if (!writer && discussion.author !== signedIn.user.name) {
			throw new HubError(403, `Only the author of pull request #${number} and the repo's writers can push to it`);
		}
		if (discussion.status === "merged" || discussion.status === "closed") {
			throw new HubError(403, `Pull request #${number} is ${discussion.status}`);
		}
		return { kind: "pull-request", ref, discussion };
	}
	if (!writer) {
		throw new HubError(
			403,
			`You don't have the rights to push to ${revision} of ${repo.name}; open a pull request instead`,
		);
	}
	return { kind: "branch", ref };
}
