import type { DiscussionDetails } from "./discussion-types.js";
import type { HubParams, RepoDesignation } from "./hub-params.js";
import { hubRequest } from "./hub-request.js";
import { repoApiPath } from "./repo-api-path.js";

/** A discussion or pull request with all its events; `diff: true` adds a pull request's diff. */
export async function getDiscussion(
	params: HubParams & { repo: RepoDesignation; num: number; diff?: boolean },
): Promise<DiscussionDetails> {
	const response = await hubRequest(params, `${repoApiPath(params.repo)}/discussions/${params.num}`, {
		...(params.diff ? { query: new URLSearchParams({ diff: "1" }) } : {}),
	});
	return (await response.json()) as DiscussionDetails;
}
