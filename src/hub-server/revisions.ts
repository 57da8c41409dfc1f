import type { StoredCommit, StoredRepo } from "./hub-types.js";

const SHA = /^[0-9a-f]{40}$/;

/** A revision as the Hub accepts it: `HEAD`, a branch or tag name, a full ref (`refs/pr/1`) or a commit sha. */
export function resolveRevision(repo: StoredRepo, revision: string): StoredCommit | undefined {
	const name = revision === "HEAD" ? `refs/heads/${repo.defaultBranch}` : revision;
	const oid =
		(name.startsWith("refs/") ? repo.refs[name] : undefined) ??
		repo.refs[`refs/heads/${name}`] ??
		repo.refs[`refs/tags/${name}`] ??
		(SHA.test(name) ? name : undefined);
	return oid ? repo.commits[oid] : undefined;
}

/** The ref a commit to `revision` moves: a branch or a pull request's ref; commits and tags cannot be committed to. */
export function writableRef(repo: StoredRepo, revision: string): string | undefined {
	const name = revision === "HEAD" ? `refs/heads/${repo.defaultBranch}` : revision;
	if (name.startsWith("refs/heads/") || /^refs\/pr\/\d+$/.test(name)) {
		return repo.refs[name] ? name : undefined;
	}
	return repo.refs[`refs/heads/${name}`] ? `refs/heads/${name}` : undefined;
}

export function pullRequestNumber(ref: string): number | undefined {
	const match = /^refs\/pr\/(\d+)$/.exec(ref);
	return match?.[1] ? Number(match[1]) : undefined;
}

export function headOf(repo: StoredRepo): StoredCommit | undefined {
	const oid = repo.refs[`refs/heads/${repo.defaultBranch}`];
	return oid ? repo.commits[oid] : undefined;
}
