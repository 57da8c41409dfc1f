import { openAsBlob } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import {
	type CommitOperation,
	type CommitOutput,
	commitIter,
	createRepo,
	deleteRepo,
	HubApiError as LibraryApiError,
	listFiles,
	modelInfo,
} from "@huggingface/hub";
import type { MergeEvent } from "../execute/merge-events.js";
import type { HubParams } from "../hub/hub-params.js";
import { checkPushTarget, type PushTarget } from "./check-push-target.js";
import { PushError } from "./push-error.js";

export interface PushParams extends PushTarget {
	hub: HubParams;
	/** The merged model's folder. */
	outDir: string;
	/** The files of `outDir` to publish: all that the merge wrote (weights, config, tokenizer, recipe, card). */
	files: readonly string[];
	/** Create the repo private (only when this push creates it). */
	private?: boolean;
	title: string;
	description?: string;
}

export interface PushResult {
	repo: string;
	commit: string;
	url: string;
	pullRequestUrl: string | undefined;
	createdRepo: boolean;
}

/**
 * Publishes a finished merge as one commit, reporting upload progress: creates the repo if it does not exist (only
 * now, after the merge has passed), or opens a pull request on it (`pullRequest`), or with `overwrite` replaces its
 * files on main. Files of an existing repo that the merge did not write (older shards) are deleted in the same
 * commit. If the upload fails, a repo this push created and that has no commit of ours is deleted again, so nothing
 * is left half-published.
 */
export async function* pushToHub(params: PushParams): AsyncGenerator<MergeEvent, PushResult> {
	const { repoId, hub } = params;
	const { exists } = await checkPushTarget(params, hub);
	const access = {
		accessToken: hub.accessToken ?? "",
		...(hub.hubUrl === undefined ? {} : { hubUrl: hub.hubUrl }),
		...(hub.fetch === undefined ? {} : { fetch: hub.fetch }),
	};
	const repo = { type: "model" as const, name: repoId };
	const sizes = new Map<string, number>();
	const operations: CommitOperation[] = [];
	for (const file of params.files) {
		const path = join(params.outDir, file);
		sizes.set(file, (await stat(path)).size);
		operations.push({ operation: "addOrUpdate", path: file, content: await openAsBlob(path) });
	}
	if (exists) {
		for await (const entry of listFiles({ repo, recursive: true, ...access })) {
			if (entry.type === "file" && !sizes.has(entry.path) && entry.path !== ".gitattributes") {
				operations.push({ operation: "delete", path: entry.path });
			}
		}
	}
	let createdSha: string | undefined;
	if (!exists) {
		try {
			await createRepo({ repo, ...access, ...(params.private ? { visibility: "private" as const } : {}) });
		} catch (error) {
			throw new PushError(`cannot create ${repoId}: ${(error as Error).message}`, { cause: error });
		}
		createdSha = await headSha(repoId, access);
	}
	const reported = new Set<string>();
	let output: CommitOutput | undefined;
	try {
		const commit = commitIter({
			repo,
			operations,
			title: params.title,
			...(params.description === undefined ? {} : { description: params.description }),
			...(params.pullRequest ? { isPullRequest: true } : {}),
			...access,
		});
		for (;;) {
			const next = await commit.next();
			if (next.done) {
				output = next.value;
				break;
			}
			const event = next.value;
			if (event.event === "fileProgress" && event.state === "uploading") {
				const total = sizes.get(event.path) ?? 0;
				if (event.progress >= 1) {
					reported.add(event.path);
				}
				yield {
					type: "upload",
					repo: repoId,
					file: event.path,
					bytesDone: Math.round(event.progress * total),
					bytesTotal: total,
				};
			}
		}
	} catch (error) {
		throw new PushError(
			`publishing to ${repoId} failed: ${(error as Error).message}. ${await rollBack(repoId, createdSha, exists, access)}`,
			{ cause: error },
		);
	}
	if (!output) {
		throw new PushError(`publishing to ${repoId} failed: the Hub returned no commit`);
	}
	// Small files travel inside the commit request itself, so they are done only now.
	for (const [file, total] of sizes) {
		if (!reported.has(file)) {
			yield { type: "upload", repo: repoId, file, bytesDone: total, bytesTotal: total };
		}
	}
	const result: PushResult = {
		repo: repoId,
		commit: output.commit.oid,
		url: output.commit.url,
		pullRequestUrl: output.pullRequestUrl,
		createdRepo: !exists,
	};
	yield { type: "published", ...result };
	return result;
}

async function headSha(
	repoId: string,
	access: { accessToken: string; hubUrl?: string; fetch?: typeof fetch },
): Promise<string | undefined> {
	try {
		return (await modelInfo({ name: repoId, additionalFields: ["sha"], ...access })).sha;
	} catch {
		return undefined;
	}
}

/** After a failed upload: deletes the repo if this push created it and it has no commit of ours; says what happened. */
async function rollBack(
	repoId: string,
	createdSha: string | undefined,
	existed: boolean,
	access: { accessToken: string; hubUrl?: string; fetch?: typeof fetch },
): Promise<string> {
	if (existed) {
		return "Nothing was committed: a commit lands whole or not at all.";
	}
	const now = await headSha(repoId, access);
	if (now !== createdSha) {
		return `${repoId} was created by this push and has a commit since (${now}); it was kept, check it on the Hub`;
	}
	try {
		await deleteRepo({ repo: { type: "model", name: repoId }, ...access });
		return `${repoId}, which this push had created, was deleted again, so nothing was published.`;
	} catch (error) {
		const reason = error instanceof LibraryApiError ? `${error.statusCode} ${error.message}` : (error as Error).message;
		return `${repoId} was created by this push but could not be deleted again (${reason}); delete it on the Hub.`;
	}
}
