import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** The Hugging Face cache folder, found the way the Python and JavaScript clients find it. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
	if (env.HF_HUB_CACHE) {
		return env.HF_HUB_CACHE;
	}
	if (env.HF_HOME) {
		return join(env.HF_HOME, "hub");
	}
	return join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface", "hub");
}

export function isOffline(env: NodeJS.ProcessEnv = process.env): boolean {
	return ["1", "true", "yes", "on"].includes((env.HF_HUB_OFFLINE ?? "").toLowerCase());
}

export function repoCacheDir(cacheDir: string, repoId: string): string {
	return join(cacheDir, `models--${repoId.replaceAll("/", "--")}`);
}

export interface CachedSnapshot {
	dir: string;
	commit: string;
}

/**
 * Finds a repo's snapshot in the cache: `models--org--name/snapshots/<sha>`, where a branch or tag is looked up
 * in `refs/<revision>` first. Undefined when the cache does not have it.
 */
export function findCachedSnapshot(cacheDir: string, repoId: string, revision = "main"): CachedSnapshot | undefined {
	const repoDir = repoCacheDir(cacheDir, repoId);
	let commit: string | undefined;
	if (COMMIT_SHA.test(revision)) {
		commit = revision;
	} else {
		const refFile = join(repoDir, "refs", revision);
		if (!existsSync(refFile)) {
			return undefined;
		}
		commit = readFileSync(refFile, "utf8").trim();
	}
	const dir = join(repoDir, "snapshots", commit);
	return existsSync(dir) ? { dir, commit } : undefined;
}

/**
 * Whether a snapshot folder holds what a merge reads: config.json and every weight file (each shard the index
 * names). An interrupted download leaves a snapshot with some files linked and others missing; such a snapshot is
 * not used as it is.
 */
export function isCompleteSnapshot(dir: string): boolean {
	if (!existsSync(join(dir, "config.json"))) {
		return false;
	}
	const index = join(dir, "model.safetensors.index.json");
	if (!existsSync(index)) {
		return existsSync(join(dir, "model.safetensors"));
	}
	try {
		const parsed = JSON.parse(readFileSync(index, "utf8")) as { weight_map?: Record<string, unknown> };
		const files = new Set(Object.values(parsed.weight_map ?? {}));
		return files.size > 0 && [...files].every((file) => typeof file === "string" && existsSync(join(dir, file)));
	} catch {
		return false;
	}
}

/** Records `refs/<revision>` → commit, so that offline runs find a branch or tag's snapshot. */
export function writeCacheRef(cacheDir: string, repoId: string, revision: string, commit: string): void {
	if (COMMIT_SHA.test(revision)) {
		return;
	}
	const refFile = join(repoCacheDir(cacheDir, repoId), "refs", ...revision.split("/"));
	mkdirSync(dirname(refFile), { recursive: true });
	writeFileSync(refFile, commit);
}
