import type { DiscussionCommentEvent } from "./discussion-types.js";
import type { HubParams, RepoDesignation } from "./hub-params.js";
import { hubRequest } from "./hub-request.js";
import { repoApiPath } from "./repo-api-path.js";

/** Replaces a comment's text (the bot edits one status comment rather than posting many); returns it. */
export async function editDiscussionComment(
	params: HubParams & { repo: RepoDesignation; num: number; commentId: string; content: string },
): Promise<DiscussionCommentEvent> {
	const response = await hubRequest(
		params,
		// The Python client lower-cases comment ids in this URL; ObjectIds are hex, so that is harmless.
		`${repoApiPath(params.repo)}/discussions/${params.num}/comment/${params.commentId.toLowerCase()}/edit`,
		{ json: { content: params.content } },
	);
	return ((await response.json()) as { updatedComment: DiscussionCommentEvent }).updatedComment;
}
