import { lfsPointer } from "./git-objects.js";
import type { HubStore } from "./hub-store.js";
import type { StoredCommit, StoredFile } from "./hub-types.js";

/** Paths whose git blob differs between two commits. */
export function changedPaths(from: StoredCommit | undefined, to: StoredCommit | undefined): string[] {
	const paths = new Set([...Object.keys(from?.files ?? {}), ...Object.keys(to?.files ?? {})]);
	return [...paths].filter((path) => from?.files[path]?.oid !== to?.files[path]?.oid).sort();
}

/** Paths both the pull request and its base changed since the PR started, to different contents. */
export function conflictingPaths(start: StoredCommit | undefined, base: StoredCommit, head: StoredCommit): string[] {
	const onBase = new Set(changedPaths(start, base));
	return changedPaths(start, head).filter(
		(path) => onBase.has(path) && base.files[path]?.oid !== head.files[path]?.oid,
	);
}

/**
 * The base's files with the pull request's changes applied: what a squash merge commits. Paths the PR deleted are
 * deleted; paths it added or changed take its version.
 */
export function mergedChanges(
	start: StoredCommit | undefined,
	head: StoredCommit,
): { path: string; file: StoredFile | undefined }[] {
	return changedPaths(start, head).map((path) => ({ path, file: head.files[path] }));
}

const MAX_DIFF_FILE = 1_000_000;

async function gitText(store: HubStore, file: StoredFile | undefined): Promise<string[] | "binary"> {
	if (!file) {
		return [];
	}
	// Git diffs an LFS file's pointer, not its content.
	const text = file.lfs
		? lfsPointer(file.sha256, file.size)
		: file.size > MAX_DIFF_FILE
			? undefined
			: (await store.readObject(file.sha256)).toString("utf8");
	if (text === undefined || text.includes("\0")) {
		return "binary";
	}
	const lines = text.split("\n");
	if (lines.at(-1) === "") {
		lines.pop();
	}
	return lines;
}

/** A unified diff of the pull request (whole-file hunks), as in `?diff=1`. */
export async function pullRequestDiff(
	store: HubStore,
	start: StoredCommit | undefined,
	head: StoredCommit,
): Promise<string> {
	let out = "";
	for (const path of changedPaths(start, head)) {
		const before = start?.files[path];
		const after = head.files[path];
		out += `diff --git a/${path} b/${path}\n`;
		if (!before) {
			out += "new file mode 100644\n";
		} else if (!after) {
			out += "deleted file mode 100644\n";
		}
		out += `index ${(before?.oid ?? "0".repeat(40)).slice(0, 7)}..${(after?.oid ?? "0".repeat(40)).slice(0, 7)}\n`;
		const oldLines = await gitText(store, before);
		const newLines = await gitText(store, after);
		if (oldLines === "binary" || newLines === "binary") {
			out += `Binary files ${before ? `a/${path}` : "/dev/null"} and ${after ? `b/${path}` : "/dev/null"} differ\n`;
			continue;
		}
		out += `--- ${before ? `a/${path}` : "/dev/null"}\n+++ ${after ? `b/${path}` : "/dev/null"}\n`;
		out += `@@ -${oldLines.length === 0 ? 0 : 1},${oldLines.length} +${newLines.length === 0 ? 0 : 1},${newLines.length} @@\n`;
		out += oldLines.map((line) => `-${line}\n`).join("");
		out += newLines.map((line) => `+${line}\n`).join("");
	}
	return out;
}
