import type { DiscussionCommentEvent } from "./discussion-types.js";
import type { HubParams, RepoDesignation } from "./hub-params.js";
import { hubRequest } from "./hub-request.js";
import { repoApiPath } from "./repo-api-path.js";

/** Posts a comment (markdown) on a discussion or pull request; returns the new comment. */
export async function commentDiscussion(
	params: HubParams & { repo: RepoDesignation; num: number; comment: string },
): Promise<DiscussionCommentEvent> {
	const response = await hubRequest(params, `${repoApiPath(params.repo)}/discussions/${params.num}/comment`, {
		json: { comment: params.comment },
	});
	return ((await response.json()) as { newMessage: DiscussionCommentEvent }).newMessage;
}
