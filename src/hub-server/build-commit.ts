import { gitBlobOid, gitCommitOid, gitTreeOids, lfsPointer } from "./git-objects.js";
import { entryNotFound } from "./hub-error.js";
import type { StoredCommit, StoredFile, StoredUser } from "./hub-types.js";

export type FileChange =
	| { kind: "put"; path: string; sha256: string; size: number; lfs: boolean; oid: string }
	| { kind: "delete"; path: string }
	| { kind: "deleteFolder"; path: string };

/** The git blob id the Hub shows for a file: of the content, or of the pointer for LFS files. */
export function fileOid(file: { sha256: string; size: number; lfs: boolean }, content?: Uint8Array): string {
	if (file.lfs) {
		return gitBlobOid(Buffer.from(lfsPointer(file.sha256, file.size)));
	}
	if (!content) {
		throw new Error("a regular file's oid needs its content");
	}
	return gitBlobOid(content);
}

/**
 * A new commit on top of `parent` (or a root commit), with the changes applied in order. Files left untouched keep
 * their `lastCommit`; deleting a path that is not there fails like the Hub (404 EntryNotFound).
 */
export function buildCommit(params: {
	parent: StoredCommit | undefined;
	changes: readonly FileChange[];
	title: string;
	description?: string;
	author: StoredUser;
	date?: string;
}): StoredCommit {
	const files: Record<string, StoredFile> = { ...(params.parent?.files ?? {}) };
	const changed = new Set<string>();
	for (const change of params.changes) {
		if (change.kind === "delete") {
			if (!files[change.path]) {
				throw entryNotFound(undefined, `A file with this name doesn't exist: ${change.path}`);
			}
			delete files[change.path];
		} else if (change.kind === "deleteFolder") {
			const prefix = change.path.endsWith("/") ? change.path : `${change.path}/`;
			for (const path of Object.keys(files)) {
				if (path.startsWith(prefix)) {
					delete files[path];
				}
			}
		} else if (files[change.path]?.oid !== change.oid) {
			files[change.path] = {
				size: change.size,
				sha256: change.sha256,
				oid: change.oid,
				lfs: change.lfs,
				lastCommit: "",
			};
			changed.add(change.path);
		}
	}
	const date = params.date ?? new Date().toISOString();
	const treeOid = gitTreeOids(Object.entries(files).map(([path, file]) => [path, file.oid])).get("") ?? "";
	const message = params.description ? `${params.title}\n\n${params.description}` : params.title;
	const parents = params.parent ? [params.parent.oid] : [];
	const oid = gitCommitOid({
		treeOid,
		parents,
		author: params.author.fullname,
		email: `${params.author.name}@users.noreply.huggingface.co`,
		date,
		message,
	});
	for (const path of changed) {
		const file = files[path];
		if (file) {
			files[path] = { ...file, lastCommit: oid };
		}
	}
	return { oid, parents, title: params.title, message, author: params.author.name, date, treeOid, files };
}
