import { createHmac, timingSafeEqual } from "node:crypto";
import { HubError } from "./hub-error.js";

function signature(key: string, path: string, params: URLSearchParams): string {
	const canonical = [...params.entries()]
		.filter(([name]) => name !== "sig")
		.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
		.map(([name, value]) => `${name}=${value}`)
		.join("&");
	return createHmac("sha256", key).update(`${path}?${canonical}`).digest("hex");
}

/**
 * An absolute URL that carries its own credential, like an S3 presigned URL: the JS client sends LFS uploads with
 * no Authorization header, and the Python client drops it when following a download redirect.
 */
export function signUrl(
	key: string,
	origin: string,
	path: string,
	params: Record<string, string>,
	ttlSeconds = 3600,
): string {
	const query = new URLSearchParams({ ...params, exp: String(Math.floor(Date.now() / 1000) + ttlSeconds) });
	query.set("sig", signature(key, path, query));
	return `${origin}${path}?${query.toString()}`;
}

/** The signed parameters of a URL made by `signUrl`; 403 if the signature is wrong or expired. */
export function verifySignedUrl(key: string, url: string): Record<string, string> {
	const parsed = new URL(url);
	const given = parsed.searchParams.get("sig") ?? "";
	const expected = signature(key, parsed.pathname, parsed.searchParams);
	const valid =
		given.length === expected.length && timingSafeEqual(Buffer.from(given, "utf8"), Buffer.from(expected, "utf8"));
	if (!valid) {
		throw new HubError(403, "Invalid signature on this storage URL");
	}
	if (Number(parsed.searchParams.get("exp")) < Date.now() / 1000) {
		throw new HubError(403, "This storage URL has expired");
	}
	return Object.fromEntries([...parsed.searchParams.entries()].filter(([name]) => name !== "sig"));
}
