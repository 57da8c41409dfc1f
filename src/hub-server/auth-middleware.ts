import { randomBytes } from "node:crypto";
import { createMiddleware } from "hono/factory";
import type { HubEnv } from "./hub-env.js";
import { HubError } from "./hub-error.js";
import type { HubStore } from "./hub-store.js";

/**
 * Reads `Authorization: Bearer hf_…` into `c.var.viewer`. No header means an anonymous caller; a header with an
 * unknown token is refused outright with 401, as the Hub refuses it even on public repos.
 */
export function authMiddleware(store: HubStore) {
	return createMiddleware<HubEnv>(async (c, next) => {
		const header = c.req.header("Authorization");
		if (header === undefined) {
			c.set("viewer", undefined);
			return next();
		}
		const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
		const viewer = match?.[1] ? store.viewer(match[1]) : undefined;
		if (!viewer) {
			throw new HubError(401, "Invalid credentials in Authorization header");
		}
		c.set("viewer", viewer);
		return next();
	});
}

/** Every answer carries an `X-Request-Id` in the Hub's `Root=1-…` form; the JS client puts it in its errors. */
export function requestIdMiddleware() {
	return createMiddleware<HubEnv>(async (c, next) => {
		const requestId = `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString("hex")}`;
		c.set("requestId", requestId);
		await next();
		c.res.headers.set("X-Request-Id", requestId);
		c.res.headers.set(
			"Access-Control-Expose-Headers",
			"X-Repo-Commit,X-Request-Id,X-Error-Code,X-Error-Message,X-Total-Count,ETag,Link,Accept-Ranges,Content-Range,X-Linked-Size,X-Linked-ETag",
		);
	});
}
