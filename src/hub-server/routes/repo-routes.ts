import { Hono } from "hono";
import { isMember, readableRepo, requireViewer, writableRepo } from "../access.js";
import { avatarUrl } from "../avatar-url.js";
import { buildCommit } from "../build-commit.js";
import {
	type HubContext,
	type HubDeps,
	type HubEnv,
	jsonBody,
	optionalString,
	originOf,
	rawSegments,
	repoTypeFromPlural,
	requiredString,
	splitRevisionPath,
} from "../hub-env.js";
import { HubError, revisionNotFound } from "../hub-error.js";
import type { GatedMode, RepoType, StoredRepo } from "../hub-types.js";
import { repoWebUrl } from "../hub-urls.js";
import { repoInfo } from "../repo-info.js";
import { advanceRef, createRepoRecord } from "../repo-records.js";
import { resolveRevision } from "../revisions.js";

const API_REPO = "/api/:type{models|datasets|spaces}/:ns/:name";
const REPO_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;

function repoTypeOf(value: unknown): RepoType {
	if (value === undefined || value === null || value === "model") {
		return "model";
	}
	if (value === "dataset" || value === "space") {
		return value;
	}
	throw new HubError(400, `Invalid repo type ${String(value)}`);
}

function repoParams(c: HubContext): { type: RepoType; name: string } {
	return { type: repoTypeFromPlural(c.req.param("type")), name: `${c.req.param("ns")}/${c.req.param("name")}` };
}

async function infoResponse(c: HubContext, deps: HubDeps, revision: string) {
	const { type, name } = repoParams(c);
	const repo = readableRepo(deps.store, type, name, c.var.viewer);
	const commit = resolveRevision(repo, revision);
	if (!commit) {
		throw revisionNotFound(revision);
	}
	const expand = [...(c.req.queries("expand") ?? []), ...(c.req.queries("expand[]") ?? [])];
	const blobs = c.req.query("blobs") === "true" || c.req.query("blobs") === "1";
	return c.json(await repoInfo(deps.store, repo, commit, { expand, blobs }));
}

/** The commits reachable from `oid` along first parents, newest first. */
function history(repo: StoredRepo, oid: string): StoredRepo["commits"][string][] {
	const commits = [];
	let current = repo.commits[oid];
	while (current) {
		commits.push(current);
		const parent = current.parents[0];
		current = parent ? repo.commits[parent] : undefined;
	}
	return commits;
}

/** Repos: create, delete, settings, gated access, info (`/revision/HEAD` too), refs, branches and commits (spec §4). */
export function repoRoutes(deps: HubDeps): Hono<HubEnv> {
	const { store, webhooks } = deps;
	const routes = new Hono<HubEnv>();

	routes.post("/api/repos/create", async (c) => {
		const viewer = requireViewer(c.var.viewer);
		const body = await jsonBody(c);
		const type = repoTypeOf(body.type);
		const repoName = requiredString(body, "name");
		const namespace = optionalString(body, "organization") ?? viewer.user.name;
		if (!REPO_NAME.test(repoName) || repoName.includes("--") || repoName.includes("..") || repoName.endsWith(".git")) {
			throw new HubError(
				400,
				`Invalid repo name "${repoName}": use letters, digits, "-", "_" and ".", at most 96 characters, no "--" or ".."`,
			);
		}
		if (!store.user(namespace) && !store.org(namespace)) {
			throw new HubError(404, `Namespace ${namespace} not found`);
		}
		if (viewer.token.role === "read" || !isMember(store, namespace, viewer.user.name, ["write", "admin"])) {
			throw new HubError(403, `You don't have the rights to create a ${type} under the namespace "${namespace}"`);
		}
		const name = `${namespace}/${repoName}`;
		const existing = store.repo(type, name);
		if (existing) {
			return c.json({ error: `You already created this ${type} repo`, url: repoWebUrl(originOf(c), existing) }, 409, {
				"X-Error-Message": `You already created this ${type} repo`,
			});
		}
		const files = Array.isArray(body.files) ? body.files : [];
		const repo = await createRepoRecord(store, {
			type,
			name,
			private: body.visibility === "private" || body.visibility === "protected" || body.private === true,
			author: viewer.user,
			...(typeof body.license === "string" ? { license: body.license } : {}),
			files: files.map((file: unknown) => {
				const entry = (typeof file === "object" && file !== null ? file : {}) as Record<string, unknown>;
				const path = requiredString(entry, "path");
				const content = optionalString(entry, "content") ?? "";
				return { path, content: Buffer.from(content, entry.encoding === "base64" ? "base64" : "utf8") };
			}),
		});
		webhooks.emit({ scope: "repo", action: "create", repo, origin: originOf(c) });
		return c.json({ url: repoWebUrl(originOf(c), repo), name: repo.name, id: repo.id });
	});

	routes.delete("/api/repos/delete", async (c) => {
		const body = await jsonBody(c);
		const type = repoTypeOf(body.type);
		const namespace = optionalString(body, "organization") ?? requireViewer(c.var.viewer).user.name;
		const repo = writableRepo(store, type, `${namespace}/${requiredString(body, "name")}`, c.var.viewer);
		await store.deleteRepo(repo.type, repo.name);
		webhooks.emit({ scope: "repo", action: "delete", repo, origin: originOf(c) });
		return c.text("OK");
	});

	routes.put(`${API_REPO}/settings`, async (c) => {
		const { type, name } = repoParams(c);
		const repo = writableRepo(store, type, name, c.var.viewer);
		const body = await jsonBody(c);
		const updatedConfig: Record<string, unknown> = {};
		if (body.private !== undefined) {
			if (typeof body.private !== "boolean") {
				throw new HubError(400, `"private" must be a boolean`);
			}
			if (body.private !== repo.private) {
				repo.private = body.private;
				updatedConfig.private = body.private;
			}
		}
		let gatedChanged = false;
		if (body.gated !== undefined) {
			if (body.gated !== false && body.gated !== "auto" && body.gated !== "manual") {
				throw new HubError(400, `"gated" must be false, "auto" or "manual"`);
			}
			gatedChanged = body.gated !== repo.gated;
			repo.gated = body.gated as GatedMode;
		}
		await store.saveRepo(repo);
		if (Object.keys(updatedConfig).length > 0 || gatedChanged) {
			// Gating is not among the keys the Hub exposes in `updatedConfig`, so it shows as {}.
			webhooks.emit({ scope: "repo.config", action: "update", repo, updatedConfig, origin: originOf(c) });
		}
		return c.json({});
	});

	// The Hub's "grant access" for gated repos (huggingface_hub `grant_access`).
	routes.post(`${API_REPO}/user-access-request/grant`, async (c) => {
		const { type, name } = repoParams(c);
		const repo = writableRepo(store, type, name, c.var.viewer);
		const user = requiredString(await jsonBody(c), "user");
		if (!store.user(user)) {
			throw new HubError(404, `User ${user} not found`);
		}
		if (!repo.grantedUsers.includes(user)) {
			repo.grantedUsers.push(user);
			await store.saveRepo(repo);
		}
		return c.json({});
	});

	routes.get(API_REPO, (c) => infoResponse(c, deps, "HEAD"));
	routes.get(`${API_REPO}/revision/*`, (c) =>
		infoResponse(c, deps, splitRevisionPath(rawSegments(c).slice(5)).revision),
	);

	routes.get(`${API_REPO}/refs`, (c) => {
		const { type, name } = repoParams(c);
		const repo = readableRepo(store, type, name, c.var.viewer);
		const refs = (prefix: string) =>
			Object.entries(repo.refs)
				.filter(([ref]) => ref.startsWith(prefix))
				.map(([ref, targetCommit]) => ({ name: ref.slice(prefix.length), ref, targetCommit }));
		const includePrs = ["1", "true"].includes(c.req.query("include_prs") ?? "");
		return c.json({
			branches: refs("refs/heads/"),
			converts: [],
			tags: refs("refs/tags/"),
			...(includePrs ? { pullRequests: refs("refs/pr/").map((ref) => ({ ...ref, name: ref.ref })) } : {}),
		});
	});

	routes.post(`${API_REPO}/branch/*`, async (c) => {
		const { type, name } = repoParams(c);
		const repo = writableRepo(store, type, name, c.var.viewer);
		const branch = decodeURIComponent(rawSegments(c).slice(5).join("/"));
		const text = await c.req.text();
		const body = text.trim() === "" ? {} : await jsonBody(c);
		const ref = `refs/heads/${branch}`;
		if (branch === "" || branch.startsWith("refs/") || branch.split("/").some((part) => part === "" || part === "..")) {
			throw new HubError(400, `Invalid branch name ${branch}`);
		}
		if (repo.refs[ref] && body.overwrite !== true) {
			throw new HubError(409, `Branch ${branch} already exists`);
		}
		const startingPoint = optionalString(body, "startingPoint") ?? "HEAD";
		const start = resolveRevision(repo, startingPoint);
		if (!start) {
			throw revisionNotFound(startingPoint);
		}
		const author = requireViewer(c.var.viewer).user;
		// An empty branch starts from a commit with no files.
		const head =
			body.emptyBranch === true
				? buildCommit({ parent: undefined, changes: [], title: "Empty branch", author })
				: start;
		const oldSha = await advanceRef(store, repo, ref, head);
		webhooks.emit({
			scope: "repo.content",
			action: "update",
			repo,
			updatedRefs: [{ ref, oldSha, newSha: head.oid }],
			origin: originOf(c),
		});
		return c.json({});
	});

	routes.delete(`${API_REPO}/branch/*`, async (c) => {
		const { type, name } = repoParams(c);
		const repo = writableRepo(store, type, name, c.var.viewer);
		const branch = decodeURIComponent(rawSegments(c).slice(5).join("/"));
		const ref = `refs/heads/${branch}`;
		const oldSha = repo.refs[ref];
		if (!oldSha) {
			throw revisionNotFound(branch);
		}
		if (branch === repo.defaultBranch) {
			throw new HubError(403, "The default branch cannot be deleted");
		}
		delete repo.refs[ref];
		await store.saveRepo(repo);
		webhooks.emit({
			scope: "repo.content",
			action: "update",
			repo,
			updatedRefs: [{ ref, oldSha, newSha: null }],
			origin: originOf(c),
		});
		return c.json({});
	});

	routes.get(`${API_REPO}/commits/*`, (c) => {
		const { type, name } = repoParams(c);
		const repo = readableRepo(store, type, name, c.var.viewer);
		const { revision } = splitRevisionPath(rawSegments(c).slice(5));
		const commit = resolveRevision(repo, revision);
		if (!commit) {
			throw revisionNotFound(revision);
		}
		const all = history(repo, commit.oid);
		const limit = Math.min(Math.max(Number(c.req.query("limit") ?? 50) || 50, 1), 1000);
		const page = Math.max(Number(c.req.query("p") ?? 0) || 0, 0);
		const slice = all.slice(page * limit, (page + 1) * limit);
		c.header("X-Total-Count", String(all.length));
		if ((page + 1) * limit < all.length) {
			const next = new URL(c.req.url);
			next.searchParams.set("p", String(page + 1));
			c.header("Link", `<${next.href}>; rel="next"`);
		}
		return c.json(
			slice.map((entry) => ({
				id: entry.oid,
				title: entry.title,
				message: entry.message,
				authors: [{ user: entry.author, avatar: avatarUrl(entry.author) }],
				date: entry.date,
			})),
		);
	});

	return routes;
}
