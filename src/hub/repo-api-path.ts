import type { RepoDesignation } from "./hub-params.js";

/** `/api/models/ns/name` (or `datasets`, `spaces`): the API root of a repo. */
export function repoApiPath(repo: RepoDesignation): string {
	const { type, name } = typeof repo === "string" ? { type: "model", name: repo } : repo;
	return `/api/${type}s/${name}`;
}
