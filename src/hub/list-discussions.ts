import type { DiscussionSummary } from "./discussion-types.js";
import type { HubParams, RepoDesignation } from "./hub-params.js";
import { hubRequest } from "./hub-request.js";
import { repoApiPath } from "./repo-api-path.js";

interface DiscussionPage {
	discussions: DiscussionSummary[];
	count: number;
	start: number;
}

/** Every discussion and pull request of a repo, newest first, fetching pages as the caller iterates. */
export async function* listDiscussions(
	params: HubParams & {
		repo: RepoDesignation;
		type?: "all" | "discussion" | "pull_request";
		status?: "all" | "open" | "closed";
		/** A user name: only what they opened. */
		author?: string;
	},
): AsyncGenerator<DiscussionSummary> {
	for (let page = 0; ; page++) {
		const query = new URLSearchParams({ p: String(page) });
		if (params.type !== undefined) {
			query.set("type", params.type);
		}
		if (params.status !== undefined) {
			query.set("status", params.status);
		}
		if (params.author !== undefined) {
			query.set("author", params.author);
		}
		const response = await hubRequest(params, `${repoApiPath(params.repo)}/discussions`, { query });
		const body = (await response.json()) as DiscussionPage;
		yield* body.discussions;
		// The Python client's stopping rule; an empty page also ends it, in case `count` is off.
		if (body.discussions.length === 0 || body.start + body.discussions.length >= body.count) {
			return;
		}
	}
}
