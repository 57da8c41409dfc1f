import type { Context } from "hono";
import { HubError } from "./hub-error.js";
import type { HubStore } from "./hub-store.js";
import type { RepoType, Viewer } from "./hub-types.js";
import type { WebhookDispatcher } from "./webhook-dispatcher.js";

export interface HubServerSettings {
	/** Answer `resolve` of LFS files with a 302 to a signed storage URL, like the real Hub's CDN (default: serve directly). */
	lfsRedirects: boolean;
	/** LFS uploads larger than this go multipart, in parts of this size (default 10 MB). */
	multipartChunkSize: number;
	/** Entries per page of tree listings before a `Link: rel="next"` (default 50). */
	treePageSize: number;
	/** Discussions per page of the discussion list (default 50). */
	discussionPageSize: number;
}

export interface HubDeps {
	store: HubStore;
	webhooks: WebhookDispatcher;
	settings: HubServerSettings;
}

export interface HubEnv {
	Variables: { viewer: Viewer | undefined; requestId: string };
}

export type HubContext = Context<HubEnv>;

const PLURAL_TYPES: Record<string, RepoType> = { models: "model", datasets: "dataset", spaces: "space" };

export function repoTypeFromPlural(plural: string | undefined): RepoType {
	const type = plural ? PLURAL_TYPES[plural] : undefined;
	if (!type) {
		throw new HubError(404, `Unknown repo type ${plural ?? ""}`);
	}
	return type;
}

/** The server's own address as the caller sees it, for absolute URLs (`Link`, upload URLs, webhook payloads). */
export function originOf(c: HubContext): string {
	return new URL(c.req.url).origin;
}

/** The segments of the raw request path (still percent-encoded, so that `refs%2Fpr%2F1` stays one segment). */
export function rawSegments(c: HubContext): string[] {
	return new URL(c.req.url).pathname.split("/").slice(1);
}

function decodeSegment(segment: string): string {
	try {
		return decodeURIComponent(segment);
	} catch {
		throw new HubError(400, `Invalid path segment ${segment}`);
	}
}

/**
 * Splits `<rev>/<path…>`: the JS client percent-encodes the revision in most URLs (`refs%2Fpr%2F1`) but not in
 * `tree`, so a leading `refs/pr/N`, `refs/heads/X` or `refs/tags/X` is read as the revision too.
 */
export function splitRevisionPath(segments: readonly string[]): { revision: string; path: string } {
	const [first, ...rest] = segments;
	if (first === undefined || first === "") {
		throw new HubError(400, "A revision is required");
	}
	const decoded = decodeSegment(first);
	if (decoded === "refs" && rest.length >= 2 && ["pr", "heads", "tags", "convert"].includes(rest[0] ?? "")) {
		return {
			revision: ["refs", ...rest.slice(0, 2)].map(decodeSegment).join("/"),
			path: rest.slice(2).map(decodeSegment).join("/"),
		};
	}
	return { revision: decoded, path: rest.map(decodeSegment).join("/") };
}

/** Reads a JSON body, answering 400 (not 500) when it is not JSON. */
export async function jsonBody(c: HubContext): Promise<Record<string, unknown>> {
	try {
		const body: unknown = await c.req.json();
		if (typeof body === "object" && body !== null && !Array.isArray(body)) {
			return body as Record<string, unknown>;
		}
	} catch {
		// Answered below.
	}
	throw new HubError(400, "The request body must be a JSON object");
}

export function optionalString(body: Record<string, unknown>, key: string): string | undefined {
	const value = body[key];
	if (value === undefined || value === null) {
		return undefined;
	}
	if (typeof value !== "string") {
		throw new HubError(400, `"${key}" must be a string`);
	}
	return value;
}

export function requiredString(body: Record<string, unknown>, key: string): string {
	const value = optionalString(body, key);
	if (value === undefined || value === "") {
		throw new HubError(400, `"${key}" is required`);
	}
	return value;
}
