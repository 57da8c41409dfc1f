import { buildCommit, type FileChange, fileOid } from "./build-commit.js";
import { objectId } from "./git-objects.js";
import { DEFAULT_GITATTRIBUTES, lfsMatcher } from "./gitattributes.js";
import type { HubStore } from "./hub-store.js";
import type { RepoType, StoredCommit, StoredRepo, StoredUser } from "./hub-types.js";

/** Bytes to be committed as a file: stored as an object, LFS if `.gitattributes` or its size says so. */
export async function putFileChange(
	store: HubStore,
	path: string,
	content: Uint8Array,
	options: { lfs?: boolean; gitattributes?: string } = {},
): Promise<FileChange> {
	const { sha256, size } = await store.putBytes(content);
	const lfs = options.lfs ?? isLfsPath(path, content, options.gitattributes ?? DEFAULT_GITATTRIBUTES);
	return { kind: "put", path, sha256, size, lfs, oid: fileOid({ sha256, size, lfs }, content) };
}

/** The emulator's rule for what goes to LFS (spec §5.1): a `.gitattributes` LFS pattern, ≥ 1 MB, or binary. */
export function isLfsPath(path: string, sample: Uint8Array, gitattributes: string, size = sample.byteLength): boolean {
	if (size === 0) {
		return false;
	}
	return lfsMatcher(gitattributes)(path) || size >= 1_000_000 || sample.subarray(0, 512).includes(0);
}

/** Points `ref` at `commit` (recording the commit) and saves the repo; returns the sha the ref had before. */
export async function advanceRef(
	store: HubStore,
	repo: StoredRepo,
	ref: string,
	commit: StoredCommit,
): Promise<string | null> {
	const previous = repo.refs[ref] ?? null;
	repo.commits[commit.oid] = commit;
	repo.refs[ref] = commit.oid;
	await store.saveRepo(repo);
	return previous;
}

/**
 * A new repo with the Hub's initial commit: `.gitattributes`, a `README.md` with the licence front matter when a
 * licence is given, and any files passed at creation.
 */
export async function createRepoRecord(
	store: HubStore,
	params: {
		type: RepoType;
		name: string;
		private: boolean;
		author: StoredUser;
		license?: string;
		files?: { path: string; content: Uint8Array }[];
	},
): Promise<StoredRepo> {
	const changes: FileChange[] = [await putFileChange(store, ".gitattributes", Buffer.from(DEFAULT_GITATTRIBUTES))];
	if (params.license) {
		changes.push(await putFileChange(store, "README.md", Buffer.from(`---\nlicense: ${params.license}\n---\n`)));
	}
	for (const file of params.files ?? []) {
		changes.push(await putFileChange(store, file.path, file.content));
	}
	const commit = buildCommit({ parent: undefined, changes, title: "initial commit", author: params.author });
	const repo: StoredRepo = {
		id: objectId(),
		type: params.type,
		name: params.name,
		private: params.private,
		gated: false,
		grantedUsers: [],
		createdAt: commit.date,
		defaultBranch: "main",
		refs: { "refs/heads/main": commit.oid },
		commits: { [commit.oid]: commit },
		discussions: [],
	};
	await store.saveRepo(repo);
	return repo;
}
