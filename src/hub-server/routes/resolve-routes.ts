import { Hono } from "hono";
import { checkGate, readableRepo } from "../access.js";
import { lfsPointer } from "../git-objects.js";
import { type HubContext, type HubDeps, type HubEnv, originOf, rawSegments, splitRevisionPath } from "../hub-env.js";
import { entryNotFound, HubError, revisionNotFound } from "../hub-error.js";
import type { RepoType } from "../hub-types.js";
import { signUrl, verifySignedUrl } from "../presign.js";
import { resolveRevision } from "../revisions.js";
import { contentTypeOf, serveBytes } from "../serve-bytes.js";

const PREFIXES: { prefix: string; type: RepoType }[] = [
	{ prefix: "/datasets", type: "dataset" },
	{ prefix: "/spaces", type: "space" },
	{ prefix: "", type: "model" },
];

/**
 * `resolve` (real content, LFS smudged) and `raw` (the git blob: the pointer of an LFS file), GET and HEAD, with
 * the headers both clients rely on (spec §4.6): `X-Repo-Commit`, `ETag`, `X-Linked-Etag`/`X-Linked-Size` for LFS
 * files, and ranges. In redirect mode LFS content answers 302 to a signed storage URL, as the Hub's CDN does.
 */
export function resolveRoutes({ store, settings }: HubDeps): Hono<HubEnv> {
	const routes = new Hono<HubEnv>();

	const serveFile = (c: HubContext, type: RepoType, skip: number) => {
		const segments = rawSegments(c).slice(skip);
		const [ns = "", name = "", kind = ""] = segments;
		const repo = readableRepo(store, type, `${decodeURIComponent(ns)}/${decodeURIComponent(name)}`, c.var.viewer);
		checkGate(store, repo, c.var.viewer, originOf(c));
		const { revision, path } = splitRevisionPath(segments.slice(3));
		const commit = resolveRevision(repo, revision);
		if (!commit) {
			throw revisionNotFound(revision);
		}
		const file = commit.files[path];
		if (!file) {
			throw entryNotFound(commit.oid);
		}
		const common = { "X-Repo-Commit": commit.oid, "Content-Type": contentTypeOf(path) };
		if (kind === "raw" || !file.lfs) {
			const pointer = file.lfs ? Buffer.from(lfsPointer(file.sha256, file.size)) : undefined;
			return serveBytes(
				c.req.method,
				c.req.header("Range"),
				pointer?.byteLength ?? file.size,
				pointer
					? { kind: "buffer", bytes: pointer }
					: { kind: "stream", open: (range) => store.objectStream(file.sha256, range) },
				{ ...common, ETag: `"${file.oid}"` },
			);
		}
		const lfsHeaders = {
			...common,
			ETag: `"${file.sha256}"`,
			"X-Linked-Etag": `"${file.sha256}"`,
			"X-Linked-Size": String(file.size),
		};
		if (settings.lfsRedirects) {
			const location = signUrl(store.signingKey, originOf(c), `/__cdn/${file.sha256}`, {
				commit: commit.oid,
				type: contentTypeOf(path),
			});
			return new Response(null, { status: 302, headers: { ...lfsHeaders, Location: location, "Content-Length": "0" } });
		}
		return serveBytes(
			c.req.method,
			c.req.header("Range"),
			file.size,
			{ kind: "stream", open: (range) => store.objectStream(file.sha256, range) },
			lfsHeaders,
		);
	};

	for (const { prefix, type } of PREFIXES) {
		const skip = prefix === "" ? 0 : 1;
		routes.get(`${prefix}/:ns/:name/:kind{resolve|raw}/*`, (c) => serveFile(c, type, skip));
	}

	// The "CDN" that LFS downloads are redirected to in redirect mode: no Authorization, the URL is the credential.
	routes.get("/__cdn/:sha256{[0-9a-f]{64}}", async (c) => {
		const signed = verifySignedUrl(store.signingKey, c.req.url);
		const sha256 = c.req.param("sha256");
		const size = await store.objectSize(sha256);
		if (size === undefined) {
			throw new HubError(404, "Object not found");
		}
		return serveBytes(
			c.req.method,
			c.req.header("Range"),
			size,
			{ kind: "stream", open: (range) => store.objectStream(sha256, range) },
			{
				ETag: `"${sha256}"`,
				"X-Linked-Etag": `"${sha256}"`,
				"X-Linked-Size": String(size),
				"Content-Type": signed.type ?? "application/octet-stream",
				...(signed.commit ? { "X-Repo-Commit": signed.commit } : {}),
			},
		);
	});

	return routes;
}
