import type { RepoType, StoredDiscussion, StoredRepo } from "./hub-types.js";

/** Models have no prefix in web and file URLs; datasets and spaces do. */
export function repoPrefix(type: RepoType): string {
	return type === "model" ? "" : `${type}s/`;
}

export function repoWebUrl(origin: string, repo: Pick<StoredRepo, "type" | "name">): string {
	return `${origin}/${repoPrefix(repo.type)}${repo.name}`;
}

export function repoApiUrl(origin: string, repo: Pick<StoredRepo, "type" | "name">): string {
	return `${origin}/api/${repo.type}s/${repo.name}`;
}

export function discussionUrls(
	origin: string,
	repo: Pick<StoredRepo, "type" | "name">,
	discussion: Pick<StoredDiscussion, "num">,
): { web: string; api: string } {
	return {
		web: `${repoWebUrl(origin, repo)}/discussions/${discussion.num}`,
		api: `${repoApiUrl(origin, repo)}/discussions/${discussion.num}`,
	};
}
