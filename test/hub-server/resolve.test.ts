import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
	downloadFile,
	downloadFileToCacheDir,
	fileDownloadInfo,
	fileExists,
	parseSafetensorsMetadata,
	pathsInfo,
} from "@huggingface/hub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub, TOKENS } from "./test-hub.js";

const LLAMA = "tiny-models/tiny-llama";

/** `resolve`/`raw` headers and ranges of spec §4.6, in both download modes. */
describe("resolve and raw", () => {
	let hub: TestHub;
	let sha: string;
	let weights: { sha256: string; size: number };
	beforeAll(async () => {
		hub = await startTestHub();
		const [info] = await pathsInfo({ hubUrl: hub.url, repo: LLAMA, paths: ["model.safetensors"], expand: true });
		sha = info?.lastCommit?.id ?? "";
		weights = { sha256: info?.lfs?.oid ?? "", size: info?.size ?? 0 };
	});
	afterAll(async () => {
		await hub.close();
	});

	it("serves an LFS file with ETag, X-Linked-Etag, X-Linked-Size and X-Repo-Commit; HEAD has no body", async () => {
		expect(weights.sha256).toMatch(/^[0-9a-f]{64}$/);
		const head = await fetch(`${hub.url}/${LLAMA}/resolve/main/model.safetensors`, { method: "HEAD" });
		expect(head.status).toBe(200);
		expect(
			Object.fromEntries(
				["etag", "x-linked-etag", "x-linked-size", "x-repo-commit", "content-length", "accept-ranges"].map((name) => [
					name,
					head.headers.get(name),
				]),
			),
		).toEqual({
			etag: `"${weights.sha256}"`,
			"x-linked-etag": `"${weights.sha256}"`,
			"x-linked-size": String(weights.size),
			"x-repo-commit": sha,
			"content-length": String(weights.size),
			"accept-ranges": "bytes",
		});
		expect((await head.arrayBuffer()).byteLength).toBe(0);
		const config = await fetch(`${hub.url}/${LLAMA}/resolve/main/config.json`, { method: "HEAD" });
		expect(config.headers.get("ETag")).toMatch(/^"[0-9a-f]{40}"$/);
		expect(config.headers.get("X-Linked-Etag")).toBeNull();
	});

	it("answers ranges with 206 and Content-Range, suffix and open ranges too, 416 past the end", async () => {
		const url = `${hub.url}/${LLAMA}/resolve/main/model.safetensors`;
		const whole = Buffer.from(await (await fetch(url)).arrayBuffer());
		expect(whole.byteLength).toBe(weights.size);
		const cases: [string, number, number][] = [
			["bytes=0-7", 0, 7],
			["bytes=10-", 10, weights.size - 1],
			["bytes=-4", weights.size - 4, weights.size - 1],
			[`bytes=5-${weights.size + 100}`, 5, weights.size - 1],
		];
		for (const [range, start, end] of cases) {
			const response = await fetch(url, { headers: { Range: range } });
			expect(response.status).toBe(206);
			expect(response.headers.get("Content-Range")).toBe(`bytes ${start}-${end}/${weights.size}`);
			// Buffer.equals: vitest's deep equality is slow on byte arrays.
			expect(Buffer.from(await response.arrayBuffer()).equals(whole.subarray(start, end + 1))).toBe(true);
		}
		const past = await fetch(url, { headers: { Range: `bytes=${weights.size}-` } });
		expect([past.status, past.headers.get("Content-Range")]).toEqual([416, `bytes */${weights.size}`]);
	});

	it("raw serves the LFS pointer; resolve the content", async () => {
		const raw = await (await fetch(`${hub.url}/${LLAMA}/raw/main/model.safetensors`)).text();
		expect(raw).toBe(
			`version https://git-lfs.github.com/spec/v1\noid sha256:${weights.sha256}\nsize ${weights.size}\n`,
		);
		const pointer = await downloadFile({ hubUrl: hub.url, repo: LLAMA, path: "model.safetensors", raw: true });
		expect(await pointer?.text()).toBe(raw);
	});

	it("an empty file answers a range with 200 and Content-Range bytes */0, which the client reads as size 0", async () => {
		const info = await fileDownloadInfo({
			hubUrl: hub.url,
			accessToken: TOKENS.alice,
			repo: "alice/secret",
			path: "empty.txt",
		});
		expect(info?.size).toBe(0);
		const blob = await downloadFile({
			hubUrl: hub.url,
			accessToken: TOKENS.alice,
			repo: "alice/secret",
			path: "empty.txt",
		});
		expect(await blob?.text()).toBe("");
	});

	it("resolves HEAD, branch names, full refs and commit shas", async () => {
		for (const revision of ["HEAD", "main", "refs%2Fheads%2Fmain", sha]) {
			const response = await fetch(`${hub.url}/${LLAMA}/resolve/${revision}/config.json`, { method: "HEAD" });
			expect([revision, response.status, response.headers.get("X-Repo-Commit")]).toEqual([revision, 200, sha]);
		}
		expect(await fileExists({ hubUrl: hub.url, repo: LLAMA, path: "config.json", revision: sha })).toBe(true);
	});

	it("in redirect mode, LFS content answers 302 to a signed storage URL that the client follows", async () => {
		const redirecting = await startTestHub({ lfsRedirects: true });
		const cacheDir = await mkdtemp(join(tmpdir(), "mergesmith-hub-cache-"));
		try {
			const url = `${redirecting.url}/${LLAMA}/resolve/main/model.safetensors`;
			const head = await fetch(url, { method: "HEAD", redirect: "manual" });
			expect(head.status).toBe(302);
			expect(head.headers.get("X-Linked-Size")).toBe(String(weights.size));
			expect(head.headers.get("X-Linked-Etag")).toBe(`"${weights.sha256}"`);
			expect(head.headers.get("X-Repo-Commit")).toMatch(/^[0-9a-f]{40}$/);
			const location = head.headers.get("Location") ?? "";
			expect(location).toMatch(new RegExp(`^${redirecting.url}/__cdn/${weights.sha256}\\?.*sig=`));
			const tampered = await fetch(location.replace(/sig=[0-9a-f]+/, `sig=${"0".repeat(64)}`));
			expect(tampered.status).toBe(403);
			const info = await fileDownloadInfo({ hubUrl: redirecting.url, repo: LLAMA, path: "model.safetensors" });
			expect(info).toMatchObject({ size: weights.size, etag: `"${weights.sha256}"` });
			const metadata = await parseSafetensorsMetadata({ hubUrl: redirecting.url, repo: LLAMA });
			expect(metadata.sharded === false && Object.keys(metadata.header)).toContain("model.embed_tokens.weight");
			const local = await downloadFileToCacheDir({
				hubUrl: redirecting.url,
				repo: LLAMA,
				path: "model.safetensors",
				cacheDir,
			});
			expect((await readFile(local)).byteLength).toBe(weights.size);
		} finally {
			await redirecting.close();
			await rm(cacheDir, { recursive: true, force: true });
		}
	});
});
