import {
	commit,
	countCommits,
	createBranch,
	createRepo,
	deleteBranch,
	deleteRepo,
	downloadFile,
	fileExists,
	HubApiError,
	listCommits,
	listFiles,
	modelInfo,
	pathsInfo,
	uploadFiles,
} from "@huggingface/hub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub, TOKENS } from "./test-hub.js";

const LLAMA = "tiny-models/tiny-llama";

/** Repos: create, info with `expand`, tree, paths-info, commits, delete, and a restart that keeps everything. */
describe("repos", () => {
	let hub: TestHub;
	beforeAll(async () => {
		hub = await startTestHub({ treePageSize: 3 });
	});
	afterAll(async () => {
		await hub.close();
	});

	it("model info: with expand only _id, id and the keys asked for; in full with card data, config and parameter counts", async () => {
		const picked = (await (
			await fetch(`${hub.url}/api/models/${LLAMA}/revision/HEAD?expand=sha&expand=gated&expand=xetEnabled`)
		).json()) as Record<string, unknown>;
		expect(Object.keys(picked).sort()).toEqual(["_id", "gated", "id", "sha"]);
		const info = await modelInfo({
			hubUrl: hub.url,
			name: LLAMA,
			additionalFields: ["sha", "cardData", "safetensors", "config", "tags"],
		});
		expect(info).toMatchObject({
			name: LLAMA,
			private: false,
			gated: false,
			task: "text-generation",
			cardData: { license: "apache-2.0" },
			config: { architectures: ["LlamaForCausalLM"], model_type: "llama" },
		});
		expect(info.id).toMatch(/^[0-9a-f]{24}$/);
		expect(info.sha).toMatch(/^[0-9a-f]{40}$/);
		expect(info.tags).toEqual(expect.arrayContaining(["transformers", "safetensors", "llama", "license:apache-2.0"]));
		expect(info.safetensors?.total).toBeGreaterThan(0);
		expect(Object.keys(info.safetensors?.parameters ?? {})).toEqual(["F32"]);
		const full = (await (await fetch(`${hub.url}/api/models/${LLAMA}?blobs=true`)).json()) as {
			siblings: { rfilename: string; lfs?: { sha256: string; pointerSize: number } }[];
		};
		const weights = full.siblings.find((sibling) => sibling.rfilename === "model.safetensors");
		expect(weights?.lfs?.sha256).toMatch(/^[0-9a-f]{64}$/);
		const head = await fetch(`${hub.url}/api/models/${LLAMA}`, { method: "HEAD" });
		expect(head.status).toBe(200);
	});

	it("createRepo with a licence makes the initial commit with .gitattributes and a README; deleteRepo removes it", async () => {
		await createRepo({ hubUrl: hub.url, accessToken: TOKENS.alice, repo: "alice/with-license", license: "mit" });
		const readme = await downloadFile({ hubUrl: hub.url, repo: "alice/with-license", path: "README.md" });
		expect(await readme?.text()).toBe("---\nlicense: mit\n---\n");
		const attributes = await downloadFile({ hubUrl: hub.url, repo: "alice/with-license", path: ".gitattributes" });
		expect(await attributes?.text()).toContain("*.safetensors filter=lfs diff=lfs merge=lfs -text");
		const commits = [];
		for await (const entry of listCommits({ hubUrl: hub.url, repo: "alice/with-license" })) {
			commits.push(entry.title);
		}
		expect(commits).toEqual(["initial commit"]);
		await deleteRepo({ hubUrl: hub.url, accessToken: TOKENS.alice, repo: "alice/with-license" });
		await expect(
			modelInfo({ hubUrl: hub.url, accessToken: TOKENS.alice, name: "alice/with-license" }),
		).rejects.toMatchObject({
			statusCode: 404,
		});
		await expect(
			deleteRepo({ hubUrl: hub.url, accessToken: TOKENS.alice, repo: "alice/with-license" }),
		).rejects.toBeInstanceOf(HubApiError);
	});

	it("lists folders page by page, non-recursively and recursively, with lastCommit when expanded", async () => {
		await createRepo({ hubUrl: hub.url, accessToken: TOKENS.alice, repo: "alice/tree" });
		await uploadFiles({
			hubUrl: hub.url,
			accessToken: TOKENS.alice,
			repo: "alice/tree",
			useXet: false,
			files: [
				{ path: "a/b/c.txt", content: new Blob(["c"]) },
				{ path: "a/d.txt", content: new Blob(["d"]) },
				{ path: "e.txt", content: new Blob(["e"]) },
			],
		});
		const list = async (options: { path?: string; recursive?: boolean; expand?: boolean }) => {
			const entries = [];
			for await (const entry of listFiles({ hubUrl: hub.url, repo: "alice/tree", ...options })) {
				entries.push(entry);
			}
			return entries;
		};
		expect((await list({})).map((entry) => `${entry.type}:${entry.path}`)).toEqual([
			"file:.gitattributes",
			"directory:a",
			"file:e.txt",
		]);
		expect((await list({ recursive: true })).map((entry) => entry.path)).toEqual([
			".gitattributes",
			"a",
			"a/b",
			"a/b/c.txt",
			"a/d.txt",
			"e.txt",
		]);
		const sub = await list({ path: "a", expand: true });
		expect(sub.map((entry) => entry.path)).toEqual(["a/b", "a/d.txt"]);
		expect(sub[1]?.lastCommit?.title).toBe("Add 3 files");
		expect(sub[0]?.oid).toMatch(/^[0-9a-f]{40}$/);
		const missing = await fetch(`${hub.url}/api/models/alice/tree/tree/main/nope`);
		expect([missing.status, missing.headers.get("X-Error-Code")]).toEqual([404, "EntryNotFound"]);
	});

	it("paths-info takes JSON (JS client) and form bodies (Python client), leaves out missing paths", async () => {
		const info = await pathsInfo({ hubUrl: hub.url, repo: LLAMA, paths: ["config.json", "nope", "model.safetensors"] });
		expect(info.map((entry) => [entry.path, entry.type, entry.lfs !== undefined])).toEqual([
			["config.json", "file", false],
			["model.safetensors", "file", true],
		]);
		const form = await fetch(`${hub.url}/api/models/${LLAMA}/paths-info/main`, {
			method: "POST",
			body: new URLSearchParams([
				["paths", "config.json"],
				["paths", "tokenizer.json"],
				["expand", "True"],
			]),
		});
		const entries = (await form.json()) as { path: string; lastCommit?: { id: string } }[];
		expect(entries.map((entry) => entry.path)).toEqual(["config.json", "tokenizer.json"]);
		expect(entries[0]?.lastCommit?.id).toMatch(/^[0-9a-f]{40}$/);
	});

	it("a private repo can be made public through settings; refs list branches and pull requests", async () => {
		const settings = await fetch(`${hub.url}/api/models/alice/secret/settings`, {
			method: "PUT",
			headers: { Authorization: `Bearer ${TOKENS.alice}`, "Content-Type": "application/json" },
			body: JSON.stringify({ private: false }),
		});
		expect(settings.status).toBe(200);
		expect((await modelInfo({ hubUrl: hub.url, name: "alice/secret" })).private).toBe(false);
		const refs = await (await fetch(`${hub.url}/api/models/${LLAMA}/refs?include_prs=1`)).json();
		expect(refs).toMatchObject({ branches: [{ name: "main", ref: "refs/heads/main" }], tags: [], pullRequests: [] });
	});

	it("creates a branch from a revision, commits to it, counts its commits and deletes it", async () => {
		const params = { hubUrl: hub.url, accessToken: TOKENS.alice, repo: "alice/tree" } as const;
		await createBranch({ ...params, branch: "dev" });
		await expect(createBranch({ ...params, branch: "dev" })).rejects.toMatchObject({ statusCode: 409 });
		await commit({
			...params,
			branch: "dev",
			title: "Only on dev",
			useXet: false,
			operations: [{ operation: "addOrUpdate", path: "dev.txt", content: new Blob(["dev"]) }],
		});
		expect(await countCommits({ ...params, revision: "dev" })).toBe(3);
		expect(await countCommits(params)).toBe(2);
		expect(await fileExists({ ...params, path: "dev.txt", revision: "dev" })).toBe(true);
		expect(await fileExists({ ...params, path: "dev.txt" })).toBe(false);
		await deleteBranch({ ...params, branch: "dev" });
		await expect(modelInfo({ ...params, name: params.repo, revision: "dev" })).rejects.toMatchObject({
			statusCode: 404,
		});
	});

	it("serves datasets under /datasets/ and /api/datasets/, LFS batch included", async () => {
		const repo = { type: "dataset", name: "alice/data" } as const;
		const params = { hubUrl: hub.url, accessToken: TOKENS.alice, repo } as const;
		await createRepo(params);
		await uploadFiles({
			...params,
			useXet: false,
			files: [{ path: "train.parquet", content: new Blob([new Uint8Array([80, 65, 82, 49, 0, 0])]) }],
		});
		const [entry] = await pathsInfo({ ...params, paths: ["train.parquet"] });
		expect(entry?.lfs?.size).toBe(6);
		const blob = await downloadFile({ ...params, path: "train.parquet" });
		expect(new Uint8Array(await (blob as Blob).arrayBuffer())).toEqual(new Uint8Array([80, 65, 82, 49, 0, 0]));
		expect((await fetch(`${hub.url}/datasets/alice/data/resolve/main/train.parquet`)).status).toBe(200);
	});

	it("keeps users, repos, commits and files across a restart", async () => {
		const before = await modelInfo({ hubUrl: hub.url, name: "alice/tree", additionalFields: ["sha"] });
		await hub.restart();
		const after = await modelInfo({
			hubUrl: hub.url,
			accessToken: TOKENS.alice,
			name: "alice/tree",
			additionalFields: ["sha"],
		});
		expect(after.sha).toBe(before.sha);
		const file = await downloadFile({ hubUrl: hub.url, repo: "alice/tree", path: "a/b/c.txt" });
		expect(await file?.text()).toBe("c");
		const weights = await downloadFile({ hubUrl: hub.url, repo: LLAMA, path: "model.safetensors" });
		expect(weights?.size).toBeGreaterThan(0);
	});
});
