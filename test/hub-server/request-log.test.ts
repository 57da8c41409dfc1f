import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
	commit,
	createRepo,
	downloadFile,
	fileExists,
	HubApiError,
	listFiles,
	parseSafetensorsMetadata,
	snapshotDownload,
	uploadFiles,
	whoAmI,
} from "@huggingface/hub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub, TOKENS } from "./test-hub.js";

/** A valid safetensors file: one F32 tensor of 4 values. */
function tinySafetensors(): Buffer {
	const header = Buffer.from(JSON.stringify({ weight: { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] } }));
	const length = Buffer.alloc(8);
	length.writeBigUInt64LE(BigInt(header.byteLength));
	return Buffer.concat([length, header, Buffer.from(new Float32Array([1, 2, 3, 4]).buffer)]);
}

type Logged = { method: string; path: string; headers: Headers; status: number };

/**
 * Replays spec §11: the request log of the unmodified @huggingface/hub 2.17.5 against a Hub, in the same order and
 * with the same outcomes. Tree pages hold 2 entries and LFS parts 1000 bytes, as in the log.
 */
describe("the request log of spec §11, replayed with the unmodified client", () => {
	let hub: TestHub;
	let cacheDir: string;
	const log: Logged[] = [];
	const recording: typeof fetch = async (input, init) => {
		const request = new Request(input, init);
		const response = await fetch(request);
		const url = new URL(request.url);
		log.push({
			method: request.method,
			path: `${url.pathname}${url.search}`,
			headers: request.headers,
			status: response.status,
		});
		return response;
	};
	const client = () => ({ hubUrl: hub.url, accessToken: TOKENS.bot, fetch: recording });
	const take = () => log.splice(0, log.length).map((entry) => `${entry.method} ${entry.path} ${entry.status}`);

	beforeAll(async () => {
		hub = await startTestHub({ treePageSize: 2, multipartChunkSize: 1000 });
		cacheDir = await mkdtemp(join(tmpdir(), "mergesmith-hub-cache-"));
	});
	afterAll(async () => {
		await hub.close();
		await rm(cacheDir, { recursive: true, force: true });
	});

	it("whoAmI and createRepo, the second createRepo failing with 409", async () => {
		const me = await whoAmI(client());
		expect(me).toMatchObject({ type: "user", name: "merge-bot", auth: { accessToken: { role: "write" } } });
		expect(me.type === "user" && me.orgs.map((org) => org.name)).toEqual(["tiny-models"]);
		const created = await createRepo({ ...client(), repo: "merge-bot/out" });
		expect(created.repoUrl).toBe(`${hub.url}/merge-bot/out`);
		expect(created.id).toMatch(/^[0-9a-f]{24}$/);
		const again = await createRepo({ ...client(), repo: "merge-bot/out" }).catch((error: unknown) => error);
		expect(again).toBeInstanceOf(HubApiError);
		expect(again).toMatchObject({ statusCode: 409 });
		expect((again as HubApiError).message).toMatch(/^You already created this model repo/);
		expect(take()).toEqual(["GET /api/whoami-v2 200", "POST /api/repos/create 200", "POST /api/repos/create 409"]);
	});

	it("uploadFiles with a regular file and an LFS file, the LFS one PUT to a signed URL without Authorization", async () => {
		const result = await uploadFiles({
			...client(),
			repo: "merge-bot/out",
			useXet: false,
			files: [
				{ path: "config.json", content: new Blob(['{"model_type":"llama"}']) },
				{ path: "model.safetensors", content: new Blob([tinySafetensors()]) },
			],
		});
		expect(result?.commit.oid).toMatch(/^[0-9a-f]{40}$/);
		const requests = log.splice(0, log.length);
		expect(requests.map((entry) => `${entry.method} ${entry.path.replace(/\?.*/, "")}`)).toEqual([
			"POST /api/models/merge-bot/out/preupload/main",
			"POST /merge-bot/out.git/info/lfs/objects/batch",
			expect.stringMatching(/^PUT \/__lfs\/[0-9a-f]{64}$/),
			"POST /api/models/merge-bot/out/commit/main",
		]);
		const put = requests[2];
		expect(put?.headers.get("Authorization")).toBeNull();
		expect(put?.path).toMatch(/sig=[0-9a-f]{64}/);
		expect(requests.every((entry) => entry.status === 200)).toBe(true);
	});

	it("commit with isPullRequest opens refs/pr/1; a commit on refs/pr/1 adds to it", async () => {
		const opened = await commit({
			...client(),
			repo: "merge-bot/out",
			useXet: false,
			title: "Add notes",
			isPullRequest: true,
			operations: [{ operation: "addOrUpdate", path: "notes.md", content: new Blob(["# notes\n"]) }],
		});
		expect(opened?.pullRequestUrl).toBe(`${hub.url}/merge-bot/out/discussions/1`);
		await commit({
			...client(),
			repo: "merge-bot/out",
			useXet: false,
			title: "More notes",
			branch: "refs/pr/1",
			operations: [{ operation: "addOrUpdate", path: "notes.md", content: new Blob(["# notes\n\nmore\n"]) }],
		});
		expect(take()).toEqual([
			"POST /api/models/merge-bot/out/preupload/main?create_pr=1 200",
			"POST /api/models/merge-bot/out/commit/main?create_pr=1 200",
			"POST /api/models/merge-bot/out/preupload/refs%2Fpr%2F1 200",
			"POST /api/models/merge-bot/out/commit/refs%2Fpr%2F1 200",
		]);
		const onPr = await downloadFile({ ...client(), repo: "merge-bot/out", path: "notes.md", revision: "refs/pr/1" });
		expect(await onPr?.text()).toBe("# notes\n\nmore\n");
		expect(await fileExists({ ...client(), repo: "merge-bot/out", path: "notes.md" })).toBe(false);
		take();
	});

	it("downloadFile of a missing file gives null; parseSafetensorsMetadata reads config and header by ranges", async () => {
		expect(await downloadFile({ ...client(), repo: "merge-bot/out", path: "nope.txt" })).toBeNull();
		const metadata = await parseSafetensorsMetadata({
			...client(),
			repo: "merge-bot/out",
			computeParametersCount: true,
		});
		expect(metadata.sharded).toBe(false);
		expect(metadata.parameterCount).toEqual({ F32: 4 });
		expect(metadata.sharded === false && metadata.header.weight).toEqual({
			dtype: "F32",
			shape: [2, 2],
			data_offsets: [0, 16],
		});
		const requests = log.splice(0, log.length);
		expect(
			requests.map((entry) => `${entry.method} ${entry.path} ${entry.headers.get("Range") ?? "-"} ${entry.status}`),
		).toEqual([
			"GET /merge-bot/out/resolve/main/nope.txt bytes=0-0 404",
			"GET /merge-bot/out/resolve/main/config.json bytes=0-0 206",
			"GET /merge-bot/out/resolve/main/config.json bytes=0-21 206",
			"HEAD /merge-bot/out/raw/main/model.safetensors - 200",
			"GET /merge-bot/out/resolve/main/model.safetensors bytes=0-0 206",
			"GET /merge-bot/out/resolve/main/model.safetensors bytes=0-7 206",
			expect.stringMatching(/^GET \/merge-bot\/out\/resolve\/main\/model\.safetensors bytes=8-\d+ 206$/),
		]);
	});

	it("listFiles follows Link pages; snapshotDownload fills the cache from model info, tree and paths-info", async () => {
		const paths: string[] = [];
		for await (const entry of listFiles({ ...client(), repo: "merge-bot/out", recursive: true })) {
			paths.push(entry.path);
		}
		expect(paths).toEqual([".gitattributes", "config.json", "model.safetensors"]);
		const listing = take();
		expect(listing).toEqual([
			"GET /api/models/merge-bot/out/tree/main?recursive=true&expand=false 200",
			expect.stringMatching(
				/^GET \/api\/models\/merge-bot\/out\/tree\/main\?recursive=true&expand=false&cursor=\w+ 200$/,
			),
		]);
		const folder = await snapshotDownload({ ...client(), repo: "merge-bot/out", cacheDir });
		expect(await readFile(join(folder, "config.json"), "utf8")).toBe('{"model_type":"llama"}');
		expect(await readFile(join(folder, "model.safetensors"))).toEqual(tinySafetensors());
		const snapshot = take();
		expect(snapshot[0]).toBe(
			"GET /api/models/merge-bot/out/revision/main?expand=pipeline_tag&expand=private&expand=gated&expand=downloads&expand=likes&expand=lastModified&expand=sha 200",
		);
		const sha = folder.split("/").at(-1) ?? "";
		expect(snapshot[1]).toBe(`GET /api/models/merge-bot/out/tree/${sha}?recursive=true&expand=false 200`);
		expect(snapshot).toContain(`POST /api/models/merge-bot/out/paths-info/${sha} 200`);
		expect(snapshot).toContain(`GET /merge-bot/out/resolve/${sha}/model.safetensors 200`);
	});

	it("multipart LFS upload on a new pull request: numbered parts with ETags, then the completion POST", async () => {
		await createRepo({ ...client(), repo: "merge-bot/mp" });
		const big = Buffer.from(new Uint8Array(5000).map((_, index) => index % 251));
		const result = await commit({
			...client(),
			repo: "merge-bot/mp",
			useXet: false,
			title: "Add big.bin",
			isPullRequest: true,
			operations: [{ operation: "addOrUpdate", path: "big.bin", content: new Blob([big]) }],
		});
		expect(result?.pullRequestUrl).toMatch(/\/merge-bot\/mp\/discussions\/1$/);
		const requests = log.splice(0, log.length);
		const batch = requests.find((entry) => entry.path.endsWith(".git/info/lfs/objects/batch"));
		expect(batch?.path).toBe("/merge-bot/mp.git/info/lfs/objects/batch");
		const parts = requests.filter((entry) => entry.method === "PUT");
		// Parts go up in parallel, so in any order.
		expect(parts.map((entry) => entry.path.replace(/\?.*/, "").split("/").at(-1)).sort()).toEqual([
			"1",
			"2",
			"3",
			"4",
			"5",
		]);
		expect(parts.every((entry) => entry.headers.get("Authorization") === null && entry.status === 200)).toBe(true);
		const completion = requests.find((entry) => entry.method === "POST" && entry.path.startsWith("/__mp/"));
		expect(completion?.headers.get("Content-Type")).toBe("application/vnd.git-lfs+json");
		expect(completion?.headers.get("Authorization")).toBeNull();
		const back = await downloadFile({ ...client(), repo: "merge-bot/mp", path: "big.bin", revision: "refs/pr/1" });
		expect(Buffer.from(await (back as Blob).arrayBuffer()).equals(big)).toBe(true);
		expect(take()).toEqual([
			"GET /merge-bot/mp/resolve/refs%2Fpr%2F1/big.bin 206",
			"GET /merge-bot/mp/resolve/refs%2Fpr%2F1/big.bin 200",
		]);
	});
});
