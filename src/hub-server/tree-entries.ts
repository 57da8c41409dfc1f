import { gitTreeOids, lfsPointer } from "./git-objects.js";
import type { StoredCommit, StoredRepo } from "./hub-types.js";

export interface TreeEntry {
	type: "file" | "directory";
	oid: string;
	size: number;
	path: string;
	lfs?: { oid: string; size: number; pointerSize: number };
	lastCommit?: { id: string; title: string; date: string };
	securityFileStatus?: { status: string };
}

const treeCache = new Map<string, Map<string, string>>();

function directoryOids(commit: StoredCommit): Map<string, string> {
	let oids = treeCache.get(commit.oid);
	if (!oids) {
		oids = gitTreeOids(Object.entries(commit.files).map(([path, file]) => [path, file.oid]));
		if (treeCache.size >= 500) {
			treeCache.clear();
		}
		treeCache.set(commit.oid, oids);
	}
	return oids;
}

function fileEntry(repo: StoredRepo, commit: StoredCommit, path: string, expand: boolean): TreeEntry | undefined {
	const file = commit.files[path];
	if (!file) {
		return undefined;
	}
	const last = repo.commits[file.lastCommit];
	return {
		type: "file",
		oid: file.oid,
		size: file.size,
		path,
		...(file.lfs
			? { lfs: { oid: file.sha256, size: file.size, pointerSize: lfsPointer(file.sha256, file.size).length } }
			: {}),
		...(expand && last ? { lastCommit: { id: last.oid, title: last.title, date: last.date } } : {}),
		...(expand ? { securityFileStatus: { status: "safe" } } : {}),
	};
}

function directoryEntry(repo: StoredRepo, commit: StoredCommit, path: string, expand: boolean): TreeEntry | undefined {
	const oid = directoryOids(commit).get(path);
	if (oid === undefined || path === "") {
		return undefined;
	}
	let last: StoredCommit | undefined;
	if (expand) {
		// A folder's last commit is the latest commit that touched anything inside it.
		for (const [filePath, file] of Object.entries(commit.files)) {
			const candidate = repo.commits[file.lastCommit];
			if (filePath.startsWith(`${path}/`) && candidate && (!last || candidate.date > last.date)) {
				last = candidate;
			}
		}
	}
	return {
		type: "directory",
		oid,
		size: 0,
		path,
		...(last ? { lastCommit: { id: last.oid, title: last.title, date: last.date } } : {}),
	};
}

/** A path's entry as `paths-info` and `tree` show it (spec §4.3), or undefined if the commit has no such path. */
export function pathEntry(
	repo: StoredRepo,
	commit: StoredCommit,
	path: string,
	expand: boolean,
): TreeEntry | undefined {
	return fileEntry(repo, commit, path, expand) ?? directoryEntry(repo, commit, path, expand);
}

/**
 * The entries under `folder` ("" for the root): its children, or everything below it when recursive, folders
 * included; undefined if `folder` is not a folder of the commit.
 */
export function listTree(
	repo: StoredRepo,
	commit: StoredCommit,
	folder: string,
	options: { recursive: boolean; expand: boolean },
): TreeEntry[] | undefined {
	const oids = directoryOids(commit);
	if (!oids.has(folder)) {
		return undefined;
	}
	const prefix = folder === "" ? "" : `${folder}/`;
	const paths = new Set<string>();
	for (const path of [...Object.keys(commit.files), ...oids.keys()]) {
		if (path === folder || !path.startsWith(prefix)) {
			continue;
		}
		const rest = path.slice(prefix.length);
		if (options.recursive || !rest.includes("/")) {
			paths.add(path);
		}
	}
	const entries: TreeEntry[] = [];
	for (const path of [...paths].sort()) {
		const entry = pathEntry(repo, commit, path, options.expand);
		if (entry) {
			entries.push(entry);
		}
	}
	return entries;
}
