import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export type HubErrorCode = "RepoNotFound" | "RevisionNotFound" | "EntryNotFound" | "GatedRepo";

/**
 * An error answered the way the Hub answers: JSON `{"error": message}` (the JS client reads it only when the
 * content type is JSON), with `X-Error-Code` and `X-Error-Message`, which the Python client maps to its exceptions.
 */
export class HubError extends HTTPException {
	readonly code: HubErrorCode | undefined;
	readonly headers: Record<string, string>;

	constructor(
		status: ContentfulStatusCode,
		message: string,
		options: { code?: HubErrorCode; headers?: Record<string, string> } = {},
	) {
		super(status, { message });
		this.code = options.code;
		this.headers = options.headers ?? {};
	}

	override getResponse(): Response {
		const headers = new Headers({ "Content-Type": "application/json; charset=utf-8", ...this.headers });
		if (this.code) {
			headers.set("X-Error-Code", this.code);
		}
		// Header values must be ByteStrings; messages quote user input, which may not be.
		headers.set("X-Error-Message", this.message.replace(/[^\x20-\x7e]/g, "?"));
		return new Response(JSON.stringify({ error: this.message }), { status: this.status, headers });
	}
}

export function repoNotFound(authenticated: boolean): HubError {
	// Unauthenticated callers get 401 so that the Hub never reveals whether a private repo exists.
	return new HubError(authenticated ? 404 : 401, "Repository not found", { code: "RepoNotFound" });
}

export function revisionNotFound(revision: string): HubError {
	return new HubError(404, `Invalid rev id: ${revision}`, { code: "RevisionNotFound" });
}

export function entryNotFound(commit: string | undefined, message = "Entry not found"): HubError {
	return new HubError(404, message, {
		code: "EntryNotFound",
		...(commit ? { headers: { "X-Repo-Commit": commit } } : {}),
	});
}
