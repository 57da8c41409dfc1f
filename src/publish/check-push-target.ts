import { HubApiError as LibraryApiError, repoExists, whoAmI } from "@huggingface/hub";
import type { HubParams } from "../hub/hub-params.js";
import { PushError } from "./push-error.js";

export interface PushTarget {
	repoId: string;
	/** Open a pull request on the existing repo instead of committing to its main branch. */
	pullRequest?: boolean;
	/** Commit to the main branch of a repo that already exists (and that this push did not create). */
	overwrite?: boolean;
}

/**
 * Checks, before anything is merged or created, that a push can happen: a token that the Hub accepts and that may
 * write to the namespace, and a repo that is absent (it will be created) or, with `pullRequest` or `overwrite`,
 * present. Returns whether the repo exists. Costs two small requests.
 */
export async function checkPushTarget(target: PushTarget, hub: HubParams): Promise<{ exists: boolean }> {
	const { repoId } = target;
	const [namespace] = repoId.split("/");
	if (hub.accessToken === undefined) {
		throw new PushError(`--push needs HF_TOKEN: a token with write access to ${namespace}`);
	}
	const access = {
		accessToken: hub.accessToken,
		...(hub.hubUrl === undefined ? {} : { hubUrl: hub.hubUrl }),
		...(hub.fetch === undefined ? {} : { fetch: hub.fetch }),
	};
	let account: Awaited<ReturnType<typeof whoAmI>>;
	try {
		account = await whoAmI(access);
	} catch (error) {
		if (error instanceof LibraryApiError && error.statusCode === 401) {
			throw new PushError("the Hub refused HF_TOKEN (401): the token is invalid, expired or revoked", {
				cause: error,
			});
		}
		throw new PushError(`cannot check HF_TOKEN with the Hub: ${(error as Error).message}`, { cause: error });
	}
	if (account.auth.accessToken?.role === "read") {
		throw new PushError(
			`HF_TOKEN (${account.auth.accessToken.displayName}) is a read-only token; --push needs one with write access`,
		);
	}
	// Anyone may open a pull request on a public repo; creating or committing needs the namespace.
	if (!target.pullRequest && account.type === "user") {
		const namespaces = [account.name, ...account.orgs.map((org) => org.name)];
		if (!namespaces.includes(namespace ?? "")) {
			throw new PushError(
				`the account of HF_TOKEN (${account.name}) cannot write to ${namespace}: it may write to ${namespaces.join(", ")}`,
			);
		}
	}
	const exists = await repoExists({ repo: { type: "model", name: repoId }, ...access });
	if (exists && !target.pullRequest && !target.overwrite) {
		throw new PushError(
			`${repoId} already exists, and mergesmith does not overwrite a repo it did not create: --pr opens a pull request on it, --overwrite replaces its files in one commit`,
		);
	}
	if (!exists && target.pullRequest) {
		throw new PushError(
			`--pr needs an existing repo, and ${repoId} does not exist (or HF_TOKEN cannot see it); leave out --pr to create it`,
		);
	}
	return { exists };
}
