import { type FileChange, fileOid } from "./build-commit.js";
import { HubError } from "./hub-error.js";
import type { HubStore } from "./hub-store.js";
import { putFileChange } from "./repo-records.js";

/** The Hub refuses regular (non-LFS) files above this size at commit time. */
const MAX_REGULAR_FILE = 10 * 1024 * 1024;

export interface CommitHeader {
	summary: string;
	description: string | undefined;
	parentCommit: string | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function checkRepoPath(path: unknown): string {
	if (
		typeof path !== "string" ||
		path === "" ||
		path.startsWith("/") ||
		path.split("/").some((part) => part === "" || part === "." || part === "..") ||
		path === ".git" ||
		path.startsWith(".git/")
	) {
		throw new HubError(400, `Invalid path in commit: ${JSON.stringify(path)}`);
	}
	return path;
}

/**
 * Reads an NDJSON commit body (spec §5.4: `header`, `file`, `lfsFile`, `deletedFile`, `deletedFolder` lines) into
 * the header and file changes; inline files are stored, LFS files must already be in storage.
 */
export async function parseCommitBody(
	store: HubStore,
	text: string,
): Promise<{ header: CommitHeader; changes: FileChange[] }> {
	let header: CommitHeader | undefined;
	const changes: FileChange[] = [];
	for (const line of text.split("\n")) {
		if (line.trim() === "") {
			continue;
		}
		let entry: unknown;
		try {
			entry = JSON.parse(line);
		} catch {
			throw new HubError(400, "The commit body must be NDJSON: one JSON object per line");
		}
		if (!isRecord(entry) || !isRecord(entry.value)) {
			throw new HubError(400, 'Each commit line needs a "key" and a "value" object');
		}
		const value = entry.value;
		switch (entry.key) {
			case "header": {
				if (typeof value.summary !== "string" || value.summary.trim() === "") {
					throw new HubError(400, "The commit needs a summary");
				}
				header = {
					summary: value.summary,
					description: typeof value.description === "string" ? value.description : undefined,
					parentCommit: typeof value.parentCommit === "string" ? value.parentCommit : undefined,
				};
				break;
			}
			case "file": {
				const path = checkRepoPath(value.path);
				const content = typeof value.content === "string" ? value.content : "";
				const bytes = Buffer.from(content, value.encoding === "base64" ? "base64" : "utf8");
				if (bytes.byteLength > MAX_REGULAR_FILE) {
					throw new HubError(
						400,
						"Your push was rejected because it contains files larger than 10 MiB. Please use https://git-lfs.github.com/ to store large files.",
					);
				}
				changes.push(await putFileChange(store, path, bytes, { lfs: false }));
				break;
			}
			case "lfsFile": {
				const path = checkRepoPath(value.path);
				const oid = typeof value.oid === "string" ? value.oid : "";
				const stored = /^[0-9a-f]{64}$/.test(oid) ? await store.objectSize(oid) : undefined;
				if (stored === undefined) {
					throw new HubError(400, `LFS pointer pointed to a file that does not exist: ${path} (${oid})`);
				}
				if (value.size !== undefined && value.size !== stored) {
					throw new HubError(400, `LFS file ${path} has ${stored} bytes in storage, not ${String(value.size)}`);
				}
				changes.push({
					kind: "put",
					path,
					sha256: oid,
					size: stored,
					lfs: true,
					oid: fileOid({ sha256: oid, size: stored, lfs: true }),
				});
				break;
			}
			case "deletedFile":
				changes.push({ kind: "delete", path: checkRepoPath(value.path) });
				break;
			case "deletedFolder":
				changes.push({ kind: "deleteFolder", path: checkRepoPath(String(value.path ?? "").replace(/\/+$/, "")) });
				break;
			default:
				throw new HubError(400, `Unknown commit operation ${JSON.stringify(entry.key)}`);
		}
	}
	if (!header) {
		throw new HubError(400, "The commit body needs a header line first");
	}
	return { header, changes };
}
