import { Hono } from "hono";
import { readableRepo } from "../access.js";
import { type HubDeps, type HubEnv, rawSegments, repoTypeFromPlural, splitRevisionPath } from "../hub-env.js";
import { entryNotFound, HubError, revisionNotFound } from "../hub-error.js";
import { resolveRevision } from "../revisions.js";
import { listTree, pathEntry } from "../tree-entries.js";

const API_REPO = "/api/:type{models|datasets|spaces}/:ns/:name";

function truthy(value: string | undefined): boolean {
	return value === "true" || value === "1" || value === "True";
}

function decodeCursor(cursor: string | undefined): number {
	if (cursor === undefined) {
		return 0;
	}
	const offset = Number(Buffer.from(cursor, "base64url").toString("utf8"));
	if (!Number.isInteger(offset) || offset < 0) {
		throw new HubError(400, "Invalid cursor");
	}
	return offset;
}

/** Form bodies (the Python client) repeat `paths=`; JSON bodies (the JS client) send an array. */
async function readPathsRequest(body: Request): Promise<{ paths: string[]; expand: boolean }> {
	const type = body.headers.get("Content-Type") ?? "";
	if (type.startsWith("application/x-www-form-urlencoded") || type.startsWith("multipart/form-data")) {
		const form = await body.formData();
		return {
			paths: form.getAll("paths").filter((value): value is string => typeof value === "string"),
			expand: truthy(form.get("expand")?.toString()),
		};
	}
	let json: unknown;
	try {
		json = await body.json();
	} catch {
		throw new HubError(400, "The request body must be JSON or a form");
	}
	const record = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
	const paths = typeof record.paths === "string" ? [record.paths] : record.paths;
	if (!Array.isArray(paths) || !paths.every((path): path is string => typeof path === "string")) {
		throw new HubError(400, '"paths" must be a list of strings');
	}
	return { paths, expand: record.expand === true || record.expand === "true" };
}

/** `tree/{rev}[/{path}]` with cursor pagination and absolute `Link` headers, and `paths-info/{rev}` (spec §4.3, §4.4). */
export function treeRoutes({ store, settings }: HubDeps): Hono<HubEnv> {
	const routes = new Hono<HubEnv>();

	routes.get(`${API_REPO}/tree/*`, (c) => {
		const type = repoTypeFromPlural(c.req.param("type"));
		const repo = readableRepo(store, type, `${c.req.param("ns")}/${c.req.param("name")}`, c.var.viewer);
		const { revision, path } = splitRevisionPath(rawSegments(c).slice(5));
		const commit = resolveRevision(repo, revision);
		if (!commit) {
			throw revisionNotFound(revision);
		}
		const folder = path.replace(/\/+$/, "");
		const entries = listTree(repo, commit, folder, {
			recursive: truthy(c.req.query("recursive")),
			expand: truthy(c.req.query("expand")),
		});
		if (!entries) {
			throw entryNotFound(commit.oid);
		}
		const offset = decodeCursor(c.req.query("cursor"));
		const limit = Math.min(Number(c.req.query("limit")) || settings.treePageSize, 1000);
		const page = entries.slice(offset, offset + limit);
		if (offset + limit < entries.length) {
			const next = new URL(c.req.url);
			next.searchParams.set("cursor", Buffer.from(String(offset + limit)).toString("base64url"));
			c.header("Link", `<${next.href}>; rel="next"`);
		}
		c.header("X-Repo-Commit", commit.oid);
		return c.json(page);
	});

	routes.post(`${API_REPO}/paths-info/*`, async (c) => {
		const type = repoTypeFromPlural(c.req.param("type"));
		const repo = readableRepo(store, type, `${c.req.param("ns")}/${c.req.param("name")}`, c.var.viewer);
		const { revision } = splitRevisionPath(rawSegments(c).slice(5));
		const commit = resolveRevision(repo, revision);
		if (!commit) {
			throw revisionNotFound(revision);
		}
		const request = await readPathsRequest(c.req.raw);
		// Missing paths are left out rather than failing the whole request.
		const entries = request.paths
			.map((path) => pathEntry(repo, commit, path.replace(/^\/+|\/+$/g, ""), request.expand))
			.filter((entry) => entry !== undefined);
		c.header("X-Repo-Commit", commit.oid);
		return c.json(entries);
	});

	return routes;
}
