import type { HubParams, RepoDesignation } from "./hub-params.js";
import { hubRequest } from "./hub-request.js";
import { repoApiPath } from "./repo-api-path.js";

export interface CreatedDiscussion {
	num: number;
	pullRequest: boolean;
	/** The discussion's web page. */
	url: string;
}

/**
 * Opens a discussion, or with `pullRequest: true` an empty pull request (the Hub starts those as drafts; commits
 * then go to `refs/pr/{num}`).
 */
export async function createDiscussion(
	params: HubParams & { repo: RepoDesignation; title: string; description?: string; pullRequest?: boolean },
): Promise<CreatedDiscussion> {
	const response = await hubRequest(params, `${repoApiPath(params.repo)}/discussions`, {
		json: {
			title: params.title,
			// The Hub wants a description; an empty one is what the Python client sends by default too.
			description: params.description ?? "",
			pullRequest: params.pullRequest ?? false,
		},
	});
	return (await response.json()) as CreatedDiscussion;
}
