import type { DiscussionStatusChangeEvent } from "./discussion-types.js";
import type { HubParams, RepoDesignation } from "./hub-params.js";
import { hubRequest } from "./hub-request.js";
import { repoApiPath } from "./repo-api-path.js";

/** Opens or closes a discussion or pull request, with an optional comment; returns the status-change event. */
export async function changeDiscussionStatus(
	params: HubParams & { repo: RepoDesignation; num: number; status: "open" | "closed"; comment?: string },
): Promise<DiscussionStatusChangeEvent> {
	const response = await hubRequest(params, `${repoApiPath(params.repo)}/discussions/${params.num}/status`, {
		json: { status: params.status, ...(params.comment === undefined ? {} : { comment: params.comment }) },
	});
	return ((await response.json()) as { newStatus: DiscussionStatusChangeEvent }).newStatus;
}
