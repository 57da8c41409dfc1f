import {
	commit,
	createRepo,
	downloadFile,
	fileDownloadInfo,
	HubApiError,
	listFiles,
	modelInfo,
	repoExists,
	whoAmI,
} from "@huggingface/hub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub, TOKENS } from "./test-hub.js";

async function failure(promise: Promise<unknown>): Promise<HubApiError> {
	const error = await promise.then(
		() => undefined,
		(caught: unknown) => caught,
	);
	if (!(error instanceof HubApiError)) {
		throw new Error(`expected a HubApiError, got ${String(error)}`);
	}
	return error;
}

/** Error shapes and access rules of spec §1.2–§1.3, as the unmodified client and plain fetch see them. */
describe("errors, privacy and gating", () => {
	let hub: TestHub;
	beforeAll(async () => {
		hub = await startTestHub();
	});
	afterAll(async () => {
		await hub.close();
	});

	it("a missing repo is a HubApiError 404 with the Hub's message for a signed-in caller, 401 for an anonymous one", async () => {
		const signedIn = await failure(modelInfo({ hubUrl: hub.url, accessToken: TOKENS.bob, name: "nobody/nothing" }));
		expect(signedIn.statusCode).toBe(404);
		expect(signedIn.message).toMatch(/^Repository not found\. URL: /);
		expect(signedIn.requestId).toMatch(/^Root=1-/);
		const anonymous = await failure(modelInfo({ hubUrl: hub.url, name: "nobody/nothing" }));
		expect(anonymous.statusCode).toBe(401);
		const response = await fetch(`${hub.url}/api/models/nobody/nothing`);
		expect(response.headers.get("X-Error-Code")).toBe("RepoNotFound");
		expect(response.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
		expect(await response.json()).toEqual({ error: "Repository not found" });
		expect(await repoExists({ hubUrl: hub.url, repo: "nobody/nothing" })).toBe(false);
	});

	it("a private repo looks missing to anyone who cannot read it: 401 anonymous, 404 signed in", async () => {
		const anonymous = await fetch(`${hub.url}/alice/secret/resolve/main/notes.txt`);
		expect([anonymous.status, anonymous.headers.get("X-Error-Code")]).toEqual([401, "RepoNotFound"]);
		const outsider = await failure(
			downloadFile({ hubUrl: hub.url, accessToken: TOKENS.bob, repo: "alice/secret", path: "notes.txt" }),
		);
		expect(outsider.statusCode).toBe(404);
		const owner = await downloadFile({
			hubUrl: hub.url,
			accessToken: TOKENS.alice,
			repo: "alice/secret",
			path: "notes.txt",
		});
		expect(await owner?.text()).toBe("private notes\n");
		expect(await repoExists({ hubUrl: hub.url, repo: "alice/secret", accessToken: TOKENS.aliceRead })).toBe(true);
		expect(await repoExists({ hubUrl: hub.url, repo: "alice/secret" })).toBe(false);
	});

	it("a gated repo shows its metadata to all, its files with 401 GatedRepo anonymously and 403 without a grant", async () => {
		const info = await modelInfo({ hubUrl: hub.url, name: "tiny-models/tiny-gated" });
		expect(info.gated).toBe("manual");
		const files: string[] = [];
		for await (const entry of listFiles({ hubUrl: hub.url, repo: "tiny-models/tiny-gated" })) {
			files.push(entry.path);
		}
		expect(files).toContain("config.json");
		const anonymous = await fetch(`${hub.url}/tiny-models/tiny-gated/resolve/main/config.json`);
		expect([anonymous.status, anonymous.headers.get("X-Error-Code")]).toEqual([401, "GatedRepo"]);
		expect(((await anonymous.json()) as { error: string }).error).toBe(
			"Access to model tiny-models/tiny-gated is restricted. You must have access to it and be authenticated to access it. Please log in.",
		);
		const outsider = await failure(
			fileDownloadInfo({
				hubUrl: hub.url,
				accessToken: TOKENS.bob,
				repo: "tiny-models/tiny-gated",
				path: "config.json",
			}),
		);
		expect(outsider.statusCode).toBe(403);
		expect(outsider.message).toMatch(/is restricted and you are not in the authorized list/);
		const member = await fileDownloadInfo({
			hubUrl: hub.url,
			accessToken: TOKENS.bot,
			repo: "tiny-models/tiny-gated",
			path: "config.json",
		});
		expect(member?.size).toBeGreaterThan(0);
		// The owner grants bob access with the Hub's endpoint; bob can then download.
		const grant = await fetch(`${hub.url}/api/models/tiny-models/tiny-gated/user-access-request/grant`, {
			method: "POST",
			headers: { Authorization: `Bearer ${TOKENS.alice}`, "Content-Type": "application/json" },
			body: JSON.stringify({ user: "bob" }),
		});
		expect(grant.status).toBe(200);
		const granted = await downloadFile({
			hubUrl: hub.url,
			accessToken: TOKENS.bob,
			repo: "tiny-models/tiny-gated",
			path: "config.json",
		});
		expect(JSON.parse((await granted?.text()) ?? "{}")).toMatchObject({ model_type: "mistral" });
	});

	it("a revision that does not exist is 404 RevisionNotFound; a missing file is 404 EntryNotFound (downloadFile → null)", async () => {
		const info = await failure(
			modelInfo({ hubUrl: hub.url, name: "tiny-models/tiny-llama", revision: "no-such-branch" }),
		);
		expect(info.statusCode).toBe(404);
		expect(info.message).toMatch(/^Invalid rev id: no-such-branch/);
		const resolve = await fetch(`${hub.url}/tiny-models/tiny-llama/resolve/refs%2Fpr%2F9/config.json`);
		expect([resolve.status, resolve.headers.get("X-Error-Code")]).toEqual([404, "RevisionNotFound"]);
		expect(resolve.headers.get("X-Error-Message")).toBe("Invalid rev id: refs/pr/9");
		const missing = await fetch(`${hub.url}/tiny-models/tiny-llama/resolve/main/nope.json`);
		expect([missing.status, missing.headers.get("X-Error-Code")]).toEqual([404, "EntryNotFound"]);
		expect(missing.headers.get("X-Repo-Commit")).toMatch(/^[0-9a-f]{40}$/);
		expect(await downloadFile({ hubUrl: hub.url, repo: "tiny-models/tiny-llama", path: "nope.json" })).toBeNull();
	});

	it("an unknown token is refused with 401 even on a public repo; the client refuses tokens without hf_", async () => {
		const response = await fetch(`${hub.url}/api/models/tiny-models/tiny-llama`, {
			headers: { Authorization: "Bearer hf_not_a_real_token" },
		});
		expect(response.status).toBe(401);
		expect(await response.json()).toEqual({ error: "Invalid credentials in Authorization header" });
		await expect(whoAmI({ hubUrl: hub.url, accessToken: "bad" })).rejects.toThrow("must start with 'hf_'");
		expect((await failure(whoAmI({ hubUrl: hub.url, accessToken: "hf_unknown" }))).statusCode).toBe(401);
	});

	it("writes need a write token and rights on the namespace", async () => {
		const readOnly = await failure(createRepo({ hubUrl: hub.url, accessToken: TOKENS.aliceRead, repo: "alice/x" }));
		expect(readOnly.statusCode).toBe(403);
		const outsider = await failure(createRepo({ hubUrl: hub.url, accessToken: TOKENS.bob, repo: "tiny-models/x" }));
		expect(outsider.statusCode).toBe(403);
		const push = await failure(
			commit({
				hubUrl: hub.url,
				accessToken: TOKENS.bob,
				repo: "tiny-models/tiny-llama",
				title: "vandalism",
				useXet: false,
				operations: [{ operation: "delete", path: "config.json" }],
			}),
		);
		expect(push.statusCode).toBe(403);
		// An outsider may still open a pull request.
		const pr = await commit({
			hubUrl: hub.url,
			accessToken: TOKENS.bob,
			repo: "tiny-models/tiny-llama",
			title: "Fix config",
			isPullRequest: true,
			useXet: false,
			operations: [{ operation: "addOrUpdate", path: "extra.txt", content: new Blob(["hi"]) }],
		});
		expect(pr?.pullRequestUrl).toMatch(/\/discussions\/\d+$/);
	});

	it("commits fail like the Hub's: stale parent 412, unknown branch 404, missing LFS object 400, missing file 404", async () => {
		const params = { hubUrl: hub.url, accessToken: TOKENS.alice, repo: "tiny-models/tiny-llama", useXet: false };
		const stale = await failure(
			commit({
				...params,
				title: "stale",
				parentCommit: "0".repeat(40),
				operations: [{ operation: "addOrUpdate", path: "a.txt", content: new Blob(["a"]) }],
			}),
		);
		expect(stale.statusCode).toBe(412);
		const branch = await failure(
			commit({
				...params,
				title: "x",
				branch: "nope",
				operations: [{ operation: "addOrUpdate", path: "a.txt", content: new Blob(["a"]) }],
			}),
		);
		expect([branch.statusCode, branch.message.startsWith("Invalid rev id: nope")]).toEqual([404, true]);
		const deleted = await failure(
			commit({ ...params, title: "x", operations: [{ operation: "delete", path: "nope.txt" }] }),
		);
		expect(deleted.statusCode).toBe(404);
		const lfs = await fetch(`${hub.url}/api/models/tiny-models/tiny-llama/commit/main`, {
			method: "POST",
			headers: { Authorization: `Bearer ${TOKENS.alice}`, "Content-Type": "application/x-ndjson" },
			body: [
				{ key: "header", value: { summary: "ghost" } },
				{ key: "lfsFile", value: { path: "ghost.bin", algo: "sha256", size: 3, oid: "a".repeat(64) } },
			]
				.map((line) => JSON.stringify(line))
				.join("\n"),
		});
		expect(lfs.status).toBe(400);
		expect(((await lfs.json()) as { error: string }).error).toMatch(
			/LFS pointer pointed to a file that does not exist/,
		);
	});
});
