import { createHash } from "node:crypto";
import { lstat, mkdtemp, readFile, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changeDiscussionStatus } from "../../src/hub/change-discussion-status.js";
import { commentDiscussion } from "../../src/hub/comment-discussion.js";
import { createApiError } from "../../src/hub/create-api-error.js";
import { createDiscussion } from "../../src/hub/create-discussion.js";
import { createWebhook } from "../../src/hub/create-webhook.js";
import { downloadToCacheDir } from "../../src/hub/download-to-cache-dir.js";
import { editDiscussionComment } from "../../src/hub/edit-discussion-comment.js";
import { getDiscussion } from "../../src/hub/get-discussion.js";
import { HubApiError } from "../../src/hub/hub-api-error.js";
import { listDiscussions } from "../../src/hub/list-discussions.js";
import { listWebhooks } from "../../src/hub/list-webhooks.js";

interface Call {
	url: string;
	method: string;
	headers: Record<string, string>;
	body: unknown;
}

/** A fetch that records each call and answers with `answer(call)`. */
function fakeFetch(answer: (call: Call) => Response): { fetch: typeof fetch; calls: Call[] } {
	const calls: Call[] = [];
	const fake = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
		const headers = Object.fromEntries(new Headers(init?.headers).entries());
		const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
		const call = { url: String(input), method: init?.method ?? "GET", headers, body };
		calls.push(call);
		return answer(call);
	};
	return { fetch: fake as typeof fetch, calls };
}

const json = (value: unknown, status = 200, headers: Record<string, string> = {}): Response =>
	new Response(JSON.stringify(value), {
		status,
		headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
	});

const hub = { hubUrl: "http://hub.test", accessToken: "hf_test" };

describe("createApiError", () => {
	it("reads the JSON error, X-Error-Code and X-Request-Id", async () => {
		const error = await createApiError(
			json({ error: "Repository not found" }, 404, { "X-Error-Code": "RepoNotFound", "X-Request-Id": "Root=1-abc" }),
		);
		expect(error).toBeInstanceOf(HubApiError);
		expect(error.status).toBe(404);
		expect(error.errorCode).toBe("RepoNotFound");
		expect(error.requestId).toBe("Root=1-abc");
		expect(error.data).toEqual({ error: "Repository not found" });
		expect(error.message).toMatch(/^Repository not found\. URL: .*Request ID: Root=1-abc$/);
	});

	it("takes a plain-text body as the message", async () => {
		const error = await createApiError(new Response("Bad gateway", { status: 502 }));
		expect(error.status).toBe(502);
		expect(error.errorCode).toBeUndefined();
		expect(error.message).toMatch(/^Bad gateway\./);
	});
});

describe("discussion functions", () => {
	it("page through discussions until count is reached", async () => {
		const { fetch, calls } = fakeFetch((call) => {
			const page = Number(new URL(call.url).searchParams.get("p"));
			const discussions = [0, 1].map((i) => ({ num: 10 - page * 2 - i, title: `d${page}${i}`, status: "open" }));
			return json({ discussions: page < 2 ? discussions : discussions.slice(0, 1), count: 5, start: page * 2 });
		});
		const nums: number[] = [];
		for await (const discussion of listDiscussions({ ...hub, fetch, repo: "org/model", status: "open" })) {
			nums.push(discussion.num);
		}
		expect(nums).toEqual([10, 9, 8, 7, 6]);
		expect(calls.map((call) => call.url)).toEqual([
			"http://hub.test/api/models/org/model/discussions?p=0&status=open",
			"http://hub.test/api/models/org/model/discussions?p=1&status=open",
			"http://hub.test/api/models/org/model/discussions?p=2&status=open",
		]);
		expect(calls[0]?.headers.authorization).toBe("Bearer hf_test");
	});

	it("create, read, comment, edit and close with the Hub's request shapes", async () => {
		const comment = { id: "64aaaaaaaaaaaaaaaaaaaaaa", type: "comment", createdAt: "", data: {} };
		const { fetch, calls } = fakeFetch((call) => {
			if (call.url.endsWith("/discussions")) {
				return json({ num: 3, pullRequest: false, url: "http://hub.test/org/model/discussions/3" });
			}
			if (call.url.endsWith("/comment")) {
				return json({ newMessage: comment });
			}
			if (call.url.endsWith("/edit")) {
				return json({ updatedComment: comment });
			}
			if (call.url.endsWith("/status")) {
				return json({ newStatus: { id: "x", type: "status-change", createdAt: "", data: { status: "closed" } } });
			}
			return json({ num: 3, title: "t", events: [comment] });
		});
		const repo = { type: "model" as const, name: "org/model" };
		expect((await createDiscussion({ ...hub, fetch, repo, title: "Hello" })).num).toBe(3);
		expect((await getDiscussion({ ...hub, fetch, repo, num: 3, diff: true })).events).toHaveLength(1);
		expect((await commentDiscussion({ ...hub, fetch, repo, num: 3, comment: "hi" })).id).toBe(comment.id);
		await editDiscussionComment({ ...hub, fetch, repo, num: 3, commentId: "64AAAAAAAAAAAAAAAAAAAAAA", content: "x" });
		expect((await changeDiscussionStatus({ ...hub, fetch, repo, num: 3, status: "closed" })).data.status).toBe(
			"closed",
		);
		expect(calls.map((call) => `${call.method} ${call.url}`)).toEqual([
			"POST http://hub.test/api/models/org/model/discussions",
			"GET http://hub.test/api/models/org/model/discussions/3?diff=1",
			"POST http://hub.test/api/models/org/model/discussions/3/comment",
			"POST http://hub.test/api/models/org/model/discussions/3/comment/64aaaaaaaaaaaaaaaaaaaaaa/edit",
			"POST http://hub.test/api/models/org/model/discussions/3/status",
		]);
		expect(calls.map((call) => call.body)).toEqual([
			{ title: "Hello", description: "", pullRequest: false },
			undefined,
			{ comment: "hi" },
			{ content: "x" },
			{ status: "closed" },
		]);
	});

	it("throw HubApiError with the Hub's status and code", async () => {
		const { fetch } = fakeFetch(() => json({ error: "Discussion not found" }, 404, { "X-Request-Id": "r1" }));
		const failure = await getDiscussion({ ...hub, fetch, repo: "org/model", num: 99 }).catch((error: unknown) => error);
		expect(failure).toBeInstanceOf(HubApiError);
		expect((failure as HubApiError).status).toBe(404);
		expect((failure as HubApiError).requestId).toBe("r1");
	});

	it("refuse a token that is not an hf_ token before any request, as @huggingface/hub does", async () => {
		const { fetch, calls } = fakeFetch(() => json({}));
		await expect(listWebhooks({ hubUrl: "http://hub.test", accessToken: "bad", fetch })).rejects.toThrow(/hf_/);
		expect(calls).toHaveLength(0);
	});
});

describe("webhook functions", () => {
	it("create and list with the settings API", async () => {
		const webhook = {
			id: "w1",
			url: "http://bot/hook",
			watched: [],
			domains: ["discussion"],
			secret: "s",
			disabled: false,
		};
		const { fetch, calls } = fakeFetch((call) => (call.method === "POST" ? json({ webhook }) : json([webhook])));
		const created = await createWebhook({
			...hub,
			fetch,
			url: "http://bot/hook",
			watched: [{ type: "user", name: "me" }],
			domains: ["discussion"],
			secret: "s",
		});
		expect(created.id).toBe("w1");
		expect(await listWebhooks({ ...hub, fetch })).toEqual([webhook]);
		expect(calls[0]?.body).toEqual({
			url: "http://bot/hook",
			watched: [{ type: "user", name: "me" }],
			domains: ["discussion"],
			secret: "s",
		});
	});
});

describe("downloadToCacheDir", () => {
	let cacheDir: string;
	beforeAll(async () => {
		cacheDir = await mkdtemp(join(tmpdir(), "mergesmith-dl-"));
	});
	afterAll(async () => {
		await rm(cacheDir, { recursive: true, force: true });
	});
	const content = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
	const sha256 = createHash("sha256").update(content).digest("hex");
	const commit = "a".repeat(40);

	/** Serves `content`, honouring Range; `cutAfter` ends the body with a network error after that many bytes. */
	function server(cutAfter?: number) {
		return fakeFetch((call) => {
			const range = /^bytes=(\d+)-$/.exec(call.headers.range ?? "");
			const start = range ? Number(range[1]) : 0;
			const bytes = content.subarray(start);
			let pulls = 0;
			const body = new ReadableStream<Uint8Array>({
				pull(controller) {
					pulls++;
					if (cutAfter === undefined) {
						controller.enqueue(bytes);
						controller.close();
					} else if (pulls === 1) {
						controller.enqueue(bytes.subarray(0, cutAfter));
					} else {
						// As a dropped connection does: the bytes sent so far arrived, then the body fails.
						controller.error(new Error("socket hang up"));
					}
				},
			});
			return new Response(body, {
				status: range ? 206 : 200,
				headers: {
					"X-Linked-Etag": `"${sha256}"`,
					...(range ? { "Content-Range": `bytes ${start}-${content.length - 1}/${content.length}` } : {}),
				},
			});
		});
	}

	const params = {
		repoId: "org/model",
		path: "model.safetensors",
		commit,
		size: content.length,
		oid: "0".repeat(40),
		sha256,
	};

	it("keeps the bytes of an interrupted download and resumes from them with a Range request", async () => {
		const first = server(100_000);
		await expect(
			downloadToCacheDir({ ...params, cacheDir, hubUrl: "http://hub.test", fetch: first.fetch }),
		).rejects.toThrow(/stopped after 100000 of 300000 bytes .*resumes/);
		const incomplete = join(cacheDir, "models--org--model", "blobs", `${sha256}.incomplete`);
		expect((await stat(incomplete)).size).toBe(100_000);

		const second = server();
		const progress: number[] = [];
		const result = await downloadToCacheDir({
			...params,
			cacheDir,
			hubUrl: "http://hub.test",
			fetch: second.fetch,
			onProgress: (done) => progress.push(done),
		});
		expect(second.calls).toHaveLength(1);
		expect(second.calls[0]?.headers.range).toBe("bytes=100000-");
		expect(second.calls[0]?.url).toBe(`http://hub.test/org/model/resolve/${commit}/model.safetensors`);
		expect(result).toMatchObject({ fetched: 200_000, resumedFrom: 100_000 });
		expect(progress[0]).toBe(100_000);
		expect(progress.at(-1)).toBe(300_000);
		expect((await lstat(result.path)).isSymbolicLink()).toBe(true);
		expect(await readlink(result.path)).toBe(`../../blobs/${sha256}`);
		expect(Buffer.from(await readFile(result.path)).equals(Buffer.from(content))).toBe(true);

		const third = server();
		expect((await downloadToCacheDir({ ...params, cacheDir, fetch: third.fetch })).fetched).toBe(0);
		expect(third.calls).toHaveLength(0);
	});

	it("removes a download whose sha256 does not match the Hub's", async () => {
		const { fetch } = server();
		const wrong = { ...params, path: "other.safetensors", sha256: "b".repeat(64) };
		await expect(downloadToCacheDir({ ...wrong, cacheDir, fetch })).rejects.toThrow(/does not match the Hub's sha256/);
		await expect(stat(join(cacheDir, "models--org--model", "blobs", `${"b".repeat(64)}.incomplete`))).rejects.toThrow();
	});

	it("checks a regular file against its git blob id", async () => {
		const text = new TextEncoder().encode('{"a": 1}\n');
		const oid = createHash("sha1").update(`blob ${text.length}\0`).update(text).digest("hex");
		const { fetch } = fakeFetch(() => new Response(text, { status: 200 }));
		const result = await downloadToCacheDir({
			repoId: "org/model",
			path: "config.json",
			commit,
			size: text.length,
			oid,
			cacheDir,
			fetch,
		});
		expect(await readFile(result.path, "utf8")).toBe('{"a": 1}\n');
	});
});
