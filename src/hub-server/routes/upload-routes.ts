import { randomBytes } from "node:crypto";
import { Hono } from "hono";
import { readableRepo, requireParticipant } from "../access.js";
import { commitTarget } from "../commit-target.js";
import { DEFAULT_GITATTRIBUTES } from "../gitattributes.js";
import {
	type HubContext,
	type HubDeps,
	type HubEnv,
	jsonBody,
	originOf,
	rawSegments,
	repoTypeFromPlural,
	splitRevisionPath,
} from "../hub-env.js";
import { HubError } from "../hub-error.js";
import { UploadMismatchError } from "../hub-store.js";
import type { RepoType } from "../hub-types.js";
import { completeUpload, writeUploadPart } from "../multipart-upload.js";
import { signUrl, verifySignedUrl } from "../presign.js";
import { isLfsPath } from "../repo-records.js";
import { resolveRevision } from "../revisions.js";

const API_REPO = "/api/:type{models|datasets|spaces}/:ns/:name";
const SHA256 = /^[0-9a-f]{64}$/;
const LFS_JSON = { "Content-Type": "application/vnd.git-lfs+json" };

function isCreatePr(c: HubContext): boolean {
	return ["1", "true", "True"].includes(c.req.query("create_pr") ?? "");
}

interface BatchObject {
	oid: string;
	size: number;
}

function batchObjects(body: Record<string, unknown>): unknown[] {
	if (body.operation !== "upload") {
		throw new HubError(400, 'Only the "upload" operation is supported');
	}
	if (body.hash_algo !== undefined && body.hash_algo !== "sha_256" && body.hash_algo !== "sha256") {
		throw new HubError(400, `Unsupported hash algorithm ${String(body.hash_algo)}`);
	}
	if (!Array.isArray(body.objects)) {
		throw new HubError(400, '"objects" must be a list');
	}
	return body.objects;
}

/** The upload path without xet (spec §5.1–§5.3): preupload, the LFS batch API and its signed storage URLs. */
export function uploadRoutes({ store, settings }: HubDeps): Hono<HubEnv> {
	const routes = new Hono<HubEnv>();

	routes.post(`${API_REPO}/preupload/*`, async (c) => {
		const type = repoTypeFromPlural(c.req.param("type"));
		const repo = readableRepo(store, type, `${c.req.param("ns")}/${c.req.param("name")}`, c.var.viewer);
		const { revision } = splitRevisionPath(rawSegments(c).slice(5));
		const target = commitTarget(store, repo, revision, isCreatePr(c), c.var.viewer);
		const head = resolveRevision(repo, target.kind === "new-pull-request" ? target.baseRef : target.ref);
		const body = await jsonBody(c);
		const attributesFile = head?.files[".gitattributes"];
		const gitattributes =
			typeof body.gitAttributes === "string"
				? body.gitAttributes
				: attributesFile
					? (await store.readObject(attributesFile.sha256)).toString("utf8")
					: DEFAULT_GITATTRIBUTES;
		if (!Array.isArray(body.files)) {
			throw new HubError(400, '"files" must be a list');
		}
		const files = body.files.map((entry: unknown) => {
			const file = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
			if (typeof file.path !== "string" || typeof file.size !== "number") {
				throw new HubError(400, 'Each file needs a "path" and a "size"');
			}
			const sample = Buffer.from(typeof file.sample === "string" ? file.sample : "", "base64");
			return {
				path: file.path,
				uploadMode: isLfsPath(file.path, sample, gitattributes, file.size) ? "lfs" : "regular",
				shouldIgnore: false,
			};
		});
		return c.json({ files, commitOid: head?.oid });
	});

	const batch = (type: RepoType, skip: number) => async (c: HubContext) => {
		const [ns = "", gitName = ""] = rawSegments(c).slice(skip);
		const name = `${decodeURIComponent(ns)}/${decodeURIComponent(gitName).replace(/\.git$/, "")}`;
		requireParticipant(c.var.viewer);
		readableRepo(store, type, name, c.var.viewer);
		const origin = originOf(c);
		const objects = [];
		for (const entry of batchObjects(await jsonBody(c))) {
			const object = (typeof entry === "object" && entry !== null ? entry : {}) as Partial<BatchObject>;
			const oid = String(object.oid ?? "");
			const size = object.size;
			if (!SHA256.test(oid) || typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
				objects.push({
					oid,
					size,
					error: { code: 422, message: "Invalid object: oid must be a sha256, size a count" },
				});
				continue;
			}
			if ((await store.objectSize(oid)) === size) {
				// Already stored: no actions, the client skips the upload.
				objects.push({ oid, size });
				continue;
			}
			const expiresAt = new Date(Date.now() + 3600_000).toISOString();
			const chunk = settings.multipartChunkSize;
			if (size > chunk) {
				const uploadId = randomBytes(12).toString("hex");
				const partCount = Math.ceil(size / chunk);
				const params = { size: String(size), chunk: String(chunk) };
				const header: Record<string, string> = { chunk_size: String(chunk) };
				for (let part = 1; part <= partCount; part++) {
					header[String(part).padStart(5, "0")] = signUrl(
						store.signingKey,
						origin,
						`/__mp/${oid}/${uploadId}/${part}`,
						params,
					);
				}
				const href = signUrl(store.signingKey, origin, `/__mp/${oid}/${uploadId}`, params);
				objects.push({ oid, size, authenticated: true, actions: { upload: { href, header, expires_at: expiresAt } } });
			} else {
				const href = signUrl(store.signingKey, origin, `/__lfs/${oid}`, { size: String(size) });
				objects.push({ oid, size, authenticated: true, actions: { upload: { href, expires_at: expiresAt } } });
			}
		}
		return c.body(JSON.stringify({ transfer: "basic", objects }), 200, LFS_JSON);
	};
	routes.post("/datasets/:ns/:repo{[^/]+\\.git}/info/lfs/objects/batch", batch("dataset", 1));
	routes.post("/spaces/:ns/:repo{[^/]+\\.git}/info/lfs/objects/batch", batch("space", 1));
	routes.post("/:ns/:repo{[^/]+\\.git}/info/lfs/objects/batch", batch("model", 0));

	// Basic transfer: one PUT of the whole object, authenticated by the URL's signature alone.
	routes.put("/__lfs/:oid{[0-9a-f]{64}}", async (c) => {
		const signed = verifySignedUrl(store.signingKey, c.req.url);
		const body = c.req.raw.body;
		try {
			await store.putStream(body ?? new Blob([]).stream(), { sha256: c.req.param("oid"), size: Number(signed.size) });
		} catch (error) {
			if (error instanceof UploadMismatchError) {
				throw new HubError(400, error.message);
			}
			throw error;
		}
		return c.body(null, 200);
	});

	routes.put("/__mp/:oid{[0-9a-f]{64}}/:uploadId{[0-9a-f]+}/:part{[0-9]+}", async (c) => {
		const signed = verifySignedUrl(store.signingKey, c.req.url);
		const size = Number(signed.size);
		const chunk = Number(signed.chunk);
		const part = Number(c.req.param("part"));
		const expected = Math.min(chunk, size - (part - 1) * chunk);
		if (part < 1 || expected <= 0) {
			throw new HubError(400, `No part ${part} in this upload`);
		}
		const etag = await writeUploadPart(store, c.req.param("uploadId"), part, c.req.raw.body, expected);
		return c.body(null, 200, { ETag: etag });
	});

	routes.post("/__mp/:oid{[0-9a-f]{64}}/:uploadId{[0-9a-f]+}", async (c) => {
		const signed = verifySignedUrl(store.signingKey, c.req.url);
		const body = await jsonBody(c);
		const oid = c.req.param("oid");
		if (body.oid !== oid || !Array.isArray(body.parts)) {
			throw new HubError(400, 'The completion body needs this upload\'s "oid" and its "parts"');
		}
		const parts = body.parts.map((entry: unknown) => {
			const part = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
			return { partNumber: Number(part.partNumber), etag: String(part.etag ?? "") };
		});
		const size = Number(signed.size);
		try {
			await completeUpload(store, c.req.param("uploadId"), parts, {
				sha256: oid,
				size,
				partCount: Math.ceil(size / Number(signed.chunk)),
			});
		} catch (error) {
			if (error instanceof UploadMismatchError) {
				throw new HubError(400, error.message);
			}
			throw error;
		}
		return c.body(JSON.stringify({ oid, size }), 200, LFS_JSON);
	});

	return routes;
}
