import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { downloadFile, modelInfo, parseSafetensorsMetadata, repoExists } from "@huggingface/hub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTinyModel } from "../../src/fixtures/make-tiny-model.js";
import { listDiscussions } from "../../src/hub/list-discussions.js";
import { seedHub } from "../../src/hub-server/seed-hub.js";
import { type RunningHubServer, startHubServer } from "../../src/hub-server/start-hub-server.js";
import { preflightModels } from "../../src/models/preflight-models.js";
import { referencedModels } from "../../src/plan/referenced-models.js";
import { PushError } from "../../src/publish/push-error.js";
import { pushToHub } from "../../src/publish/push-to-hub.js";
import { parseRecipe } from "../../src/recipe/parse-recipe.js";
import type { Recipe } from "../../src/recipe/recipe.js";
import { runMerge } from "../../src/run-merge.js";
import { SafetensorsFile } from "../../src/safetensors/safetensors-file.js";
import { runCli } from "../helpers/run-cli.js";

const ALICE = "hf_alice_test_write";
const BOB = "hf_bob_test_write";

let dir: string;
let server: RunningHubServer;
let commits: Map<string, string>;

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-hub-"));
	server = await startHubServer({ dataDir: join(dir, "hub") });
	// Weights without config.json, and an index naming a shard that is not there: the "missing file" cases.
	const loose = join(dir, "loose");
	await makeTinyModel(loose, { family: "mistral", layers: 2, seed: 1 });
	const sharded = join(dir, "sharded");
	await makeTinyModel(sharded, { family: "mistral", layers: 2, seed: 1, maxShardBytes: 12_000 });
	const shardNames = (await readdir(sharded)).filter((name) => /^model-.*\.safetensors$/.test(name)).sort();
	const common = { family: "mistral", layers: 2, seed: 1, license: "apache-2.0" } as const;
	const seeded = await seedHub(server.store, {
		users: [
			{ name: "alice", tokens: [{ token: ALICE, role: "write" }] },
			{ name: "bob", tokens: [{ token: BOB, role: "write" }] },
		],
		orgs: [{ name: "tiny-models", members: [{ user: "alice", role: "admin" }] }],
		repos: [
			{ id: "tiny-models/base", tinyModel: common },
			{ id: "tiny-models/instruct", tinyModel: { ...common, drift: { seed: 2, scale: 0.05 } } },
			// Sharded, so that the index path of preflight and download is exercised too.
			{
				id: "tiny-models/bio",
				tinyModel: { ...common, drift: { seed: 3, scale: 0.05 }, maxShardBytes: 12_000 },
			},
			{ id: "tiny-models/gated", gated: "manual", tinyModel: { ...common, drift: { seed: 4, scale: 0.05 } } },
			{ id: "alice/private", private: true, tinyModel: { ...common, drift: { seed: 5, scale: 0.05 } } },
			{ id: "tiny-models/no-config", files: { "model.safetensors": await readFile(join(loose, "model.safetensors")) } },
			{
				id: "tiny-models/missing-shard",
				files: {
					"config.json": await readFile(join(sharded, "config.json")),
					"model.safetensors.index.json": await readFile(join(sharded, "model.safetensors.index.json")),
					[shardNames[0] as string]: await readFile(join(sharded, shardNames[0] as string)),
				},
			},
		],
	});
	commits = new Map(seeded.repos.map((repo) => [repo.id, repo.sha]));
});

afterAll(async () => {
	await server?.close();
	await rm(dir, { recursive: true, force: true });
});

const RECIPE = `merge_method: ties
base_model: tiny-models/base
models:
  - model: tiny-models/instruct
    parameters: {density: 0.5, weight: 0.5}
  - model: tiny-models/bio
    parameters: {density: 0.5, weight: 0.5}
dtype: float32
`;

function env(cache: string, token: string | undefined = ALICE): NodeJS.ProcessEnv {
	return { HF_ENDPOINT: server.url, HF_TOKEN: token ?? "", HF_HUB_CACHE: cache, HF_HUB_OFFLINE: "0" };
}

async function writeRecipe(name: string, text: string): Promise<string> {
	const path = join(dir, `${name}.yml`);
	await writeFile(path, text);
	return path;
}

/** Every file under a folder, recursively, relative to it. */
async function filesUnder(root: string): Promise<string[]> {
	if (!existsSync(root)) {
		return [];
	}
	const entries = await readdir(root, { recursive: true, withFileTypes: true });
	return entries.filter((entry) => !entry.isDirectory()).map((entry) => join(entry.parentPath, entry.name));
}

/** A fetch that counts requests (and remembers them) on the way to the real one. */
function countingFetch(): { fetch: typeof fetch; requests: { method: string; url: string; range: string | null }[] } {
	const requests: { method: string; url: string; range: string | null }[] = [];
	const counting = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
		requests.push({
			method: init?.method ?? "GET",
			url: String(input),
			range: new Headers(init?.headers).get("Range"),
		});
		return fetch(input, init);
	};
	return { fetch: counting as typeof fetch, requests };
}

function recipeOf(text: string): Recipe {
	const { recipe } = parseRecipe(text);
	if (!recipe) {
		throw new Error("test recipe does not parse");
	}
	return recipe;
}

describe("a recipe of Hub models", () => {
	const cache = (): string => join(dir, "cache");

	it("is preflighted from metadata only: commits, tensors and sizes, and no weights downloaded", async () => {
		const { fetch: counting, requests } = countingFetch();
		const started = performance.now();
		const loaded = await preflightModels(referencedModels(recipeOf(RECIPE)), {
			cacheDir: join(dir, "measure-cache"),
			offline: false,
			hub: { hubUrl: server.url, accessToken: ALICE, fetch: counting },
		});
		const ms = performance.now() - started;
		const byKind = new Map<string, number>();
		for (const request of requests) {
			const kind = /\/api\/models\/[^/]+\/[^/]+\/(revision|tree)\//.exec(request.url)?.[1] ?? "resolve";
			byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
		}
		console.log(
			`preflight of 3 Hub models (one sharded in 2 files): ${ms.toFixed(0)} ms, ${requests.length} HTTP requests (${[...byKind].map(([kind, n]) => `${kind} ${n}`).join(", ")}); no weights downloaded`,
		);
		expect([...loaded.keys()]).toEqual(["tiny-models/instruct", "tiny-models/bio", "tiny-models/base"]);
		for (const [key, model] of loaded) {
			expect(model.commit).toBe(commits.get(key));
			expect(model.origin).toBe("hub");
			expect(model.tensors.size).toBeGreaterThan(10);
			expect(model.license).toBe("apache-2.0");
			expect(model.hub?.pendingBytes).toBeGreaterThan(0);
		}
		// Only metadata and header ranges: no full GET of a weight file.
		expect(requests.filter((r) => r.url.endsWith(".safetensors") && r.range === null)).toEqual([]);
		expect(requests.length).toBeLessThanOrEqual(30);
		expect((await filesUnder(join(dir, "measure-cache"))).filter((file) => file.includes(".safetensors"))).toEqual([]);
	});

	it("prints the plan with `merge --dry-run` through the CLI, downloading no weights", async () => {
		const recipe = await writeRecipe("ties", RECIPE);
		const result = await runCli(["merge", recipe, "--dry-run"], env(cache()));
		expect(result.stderr).toBe("");
		expect(result.code).toBe(0);
		expect(result.stdout).toContain(`tiny-models/bio: revision ${commits.get("tiny-models/bio")}`);
		expect(result.stdout).toMatch(/tiny-models\/bio: [\d.]+ kB in 8 files to download/);
		expect(result.stdout).toMatch(/download: [\d.]+ kB in \d+ files/);
		expect(result.stdout).toMatch(/estimated time: /);
		expect((await filesUnder(cache())).filter((file) => file.includes(".safetensors"))).toEqual([]);
	});

	it("is merged and published with --push, and reads back from the Hub", async () => {
		const recipe = await writeRecipe("ties", RECIPE);
		const out = join(dir, "published");
		const result = await runCli(["merge", recipe, "--out", out, "--push", "alice/merged"], env(cache()));
		expect(result.stderr).toBe("");
		expect(result.code).toBe(0);
		expect(result.stdout).toMatch(/downloaded tiny-models\/bio: model-00001-of-00002\.safetensors/);
		expect(result.stdout).toMatch(/published alice\/merged \(new repo\) at commit [0-9a-f]{40}/);
		const hub = { hubUrl: server.url, accessToken: ALICE };
		const repo = { type: "model" as const, name: "alice/merged" };
		const read = async (path: string): Promise<Buffer> => {
			const blob = await downloadFile({ repo, path, ...hub });
			expect(blob, path).not.toBeNull();
			return Buffer.from(await (blob as Blob).arrayBuffer());
		};
		const published = (await filesUnder(out)).map((file) => relative(out, file));
		expect(published).toContain("tokenizer.json");
		for (const file of published) {
			expect((await read(file)).equals(await readFile(join(out, file))), file).toBe(true);
		}
		const local = await SafetensorsFile.open(join(out, "model.safetensors"));
		const remote = await parseSafetensorsMetadata({ repo, ...hub });
		expect(remote.sharded).toBe(false);
		expect(
			Object.keys(remote.sharded ? {} : remote.header)
				.filter((key) => key !== "__metadata__")
				.sort(),
		).toEqual([...local.tensors.keys()].sort());
		await local.close();
		expect(JSON.parse((await read("config.json")).toString()).architectures).toEqual(["MistralForCausalLM"]);
		expect((await read("mergekit_config.yml")).toString()).toBe(RECIPE);
		const card = (await read("README.md")).toString();
		for (const id of ["tiny-models/base", "tiny-models/instruct", "tiny-models/bio"]) {
			expect(card).toContain(`  - ${id}\n`);
			expect(card).toContain(`[${id}](https://huggingface.co/${id}) |`);
			expect(card).toContain(`\`${commits.get(id)}\``);
		}
		expect(card).toContain('model_id = "alice/merged"');
		expect(card).toContain("# merged\n");
		const info = await modelInfo({ name: "alice/merged", additionalFields: ["sha"], ...hub });
		expect(result.stdout).toContain(info.sha);
	});

	it("is not fetched again once in the cache at the right commit", async () => {
		const { fetch: counting, requests } = countingFetch();
		const loaded = await preflightModels(referencedModels(recipeOf(RECIPE)), {
			cacheDir: cache(),
			offline: false,
			hub: { hubUrl: server.url, accessToken: ALICE, fetch: counting },
		});
		for (const model of loaded.values()) {
			expect(model.origin).toBe("cache");
			expect(model.hub?.pending).toEqual([]);
		}
		// One model-info and one tree listing per model: the commit is resolved, nothing is read.
		expect(requests.map((r) => new URL(r.url).pathname.split("/")[5]).sort()).toEqual([
			"revision",
			"revision",
			"revision",
			"tree",
			"tree",
			"tree",
		]);
		const offline = await runCli(["merge", await writeRecipe("ties", RECIPE), "--dry-run"], {
			...env(cache()),
			HF_HUB_OFFLINE: "1",
		});
		expect(offline.code).toBe(0);
	});

	it("refuses to publish over an existing repo, before merging", async () => {
		const out = join(dir, "refused");
		const result = await runCli(
			["merge", await writeRecipe("ties", RECIPE), "--out", out, "--push", "alice/merged"],
			env(cache()),
		);
		expect(result.code).toBe(1);
		expect(result.stderr).toMatch(/alice\/merged already exists.*--pr opens a pull request on it, --overwrite/);
		expect(existsSync(out)).toBe(false);
	});

	it("checks a push target in a dry run, and refuses publishing flags that make no sense", async () => {
		const recipe = await writeRecipe("ties", RECIPE);
		const dry = await runCli(["merge", recipe, "--dry-run", "--push", "alice/next", "--private"], env(cache()));
		expect(dry.code).toBe(0);
		expect(dry.stdout).toContain("would publish to alice/next: a new private repo");
		expect(await repoExists({ repo: "alice/next", hubUrl: server.url, accessToken: ALICE })).toBe(false);
		const elsewhere = await runCli(["merge", recipe, "--dry-run", "--push", "tiny-models/x"], env(cache(), BOB));
		expect(elsewhere.code).toBe(1);
		expect(elsewhere.stderr).toMatch(
			/the account of HF_TOKEN \(bob\) cannot write to tiny-models: it may write to bob/,
		);
		const anonymous = await runCli(["merge", recipe, "--dry-run", "--push", "alice/next"], env(cache(), ""));
		expect(anonymous.code).toBe(1);
		expect(anonymous.stderr).toMatch(/--push needs HF_TOKEN/);
		for (const args of [["--pr"], ["--push", "alice/x", "--pr", "--overwrite"], ["--push", "not-a-repo-id"]]) {
			const usage = await runCli(["merge", recipe, "--out", join(dir, "never"), ...args], env(cache()));
			expect(usage.code, args.join(" ")).toBe(2);
		}
	});

	it("opens a pull request on an existing repo with --pr, leaving main alone", async () => {
		const hub = { hubUrl: server.url, accessToken: ALICE };
		const before = (await modelInfo({ name: "alice/merged", additionalFields: ["sha"], ...hub })).sha;
		const recipe = await writeRecipe("ties-seed", RECIPE.replace("dtype: float32", "dtype: bfloat16"));
		const result = await runCli(["merge", recipe, "--push", "alice/merged", "--pr"], env(cache()));
		expect(result.stderr).toBe("");
		expect(result.code).toBe(0);
		expect(result.stdout).toMatch(/opened pull request .*\/alice\/merged\/discussions\/\d+ on alice\/merged/);
		expect((await modelInfo({ name: "alice/merged", additionalFields: ["sha"], ...hub })).sha).toBe(before);
		const prs = [];
		for await (const discussion of listDiscussions({ ...hub, repo: "alice/merged", type: "pull_request" })) {
			prs.push(discussion);
		}
		expect(prs).toHaveLength(1);
		expect(prs[0]?.title).toMatch(/^Merge 3 models with ties/);
		const pr = await downloadFile({
			repo: { type: "model", name: "alice/merged" },
			path: "mergekit_config.yml",
			revision: `refs/pr/${prs[0]?.num}`,
			...hub,
		});
		expect(await pr?.text()).toContain("dtype: bfloat16");
	});
});

describe("Hub references that cannot be used", () => {
	const cases: { name: string; model: string; token?: string; message: RegExp }[] = [
		{
			name: "a gated model without a token",
			model: "tiny-models/gated",
			token: "",
			message:
				/model tiny-models\/gated: gated: accept the licence at http:\/\/127\.0\.0\.1:\d+\/tiny-models\/gated and set HF_TOKEN/,
		},
		{
			name: "a gated model whose licence the token's account has not accepted",
			model: "tiny-models/gated",
			token: BOB,
			message:
				/gated, and the account of HF_TOKEN has not been granted access: accept the licence at .*\/tiny-models\/gated/,
		},
		{
			name: "a private model without a token",
			model: "alice/private",
			token: "",
			message: /model alice\/private: not found on the Hub .*, or private: without a token the Hub answers 401/,
		},
		{
			name: "a private model of another account",
			model: "alice/private",
			token: BOB,
			message: /not found on the Hub .*, or private and the account of HF_TOKEN cannot read it \(404\)/,
		},
		{
			name: "a missing model",
			model: "tiny-models/nothing-here",
			message: /model tiny-models\/nothing-here: not found on the Hub/,
		},
		{
			name: "a revision that does not exist",
			model: "tiny-models/base@no-such-branch",
			message: /model tiny-models\/base@no-such-branch: revision no-such-branch does not exist/,
		},
		{
			name: "a model without config.json",
			model: "tiny-models/no-config",
			message: /config\.json is missing from tiny-models\/no-config at commit [0-9a-f]{40}/,
		},
		{
			name: "an index naming a missing shard",
			model: "tiny-models/missing-shard",
			message:
				/the weight index names model-00002-of-00002\.safetensors, which is missing from tiny-models\/missing-shard/,
		},
		{
			name: "a token that is not a Hub token",
			model: "tiny-models/base",
			token: "not-a-token",
			message: /HF_TOKEN is not a Hugging Face token/,
		},
	];
	it.each(cases)("$name: exit 1 with an explanation, nothing downloaded", async ({ model, token, message }) => {
		const cache = join(dir, "error-cache");
		const recipe = await writeRecipe(
			"one",
			`merge_method: linear\nmodels:\n  - model: ${model}\n    parameters: {weight: 1}\n`,
		);
		const result = await runCli(["merge", recipe, "--out", join(dir, "never")], env(cache, token ?? ALICE));
		expect(result.stderr).toMatch(message);
		expect(result.stderr).toMatch(/^.*one\.yml: error: line 3: /);
		expect(result.code).toBe(1);
		expect((await filesUnder(cache)).filter((file) => file.includes(".safetensors"))).toEqual([]);
		expect(existsSync(join(dir, "never"))).toBe(false);
	});
});

describe("an interrupted download", () => {
	it("keeps what arrived and resumes there on the next run", async () => {
		const cache = join(dir, "resume-cache");
		const cutAt = 5000;
		// A connection that drops after `cutAt` bytes of every whole weight file.
		const dropping = (async (input: string | URL | Request, init?: RequestInit) => {
			const response = await fetch(input, init);
			const url = String(input);
			if (!url.endsWith(".safetensors") || new Headers(init?.headers).has("Range") || response.body === null) {
				return response;
			}
			const reader = response.body.getReader();
			let sent = 0;
			const body = new ReadableStream<Uint8Array>({
				async pull(controller) {
					const { done, value } = await reader.read();
					if (done || sent + value.byteLength > cutAt) {
						if (value && sent < cutAt) {
							controller.enqueue(value.subarray(0, cutAt - sent));
							sent = cutAt;
							return;
						}
						controller.error(new Error("connection reset by peer"));
						// Not awaited: the point is a client that stops reading, whatever the server does next.
						reader.cancel().catch(() => undefined);
						return;
					}
					sent += value.byteLength;
					controller.enqueue(value);
				},
			});
			return new Response(body, { status: response.status, headers: response.headers });
		}) as typeof fetch;
		const recipe = recipeOf(RECIPE);
		const out = join(dir, "resumed");
		const run = async (hubFetch: typeof fetch): Promise<string[]> => {
			const types: string[] = [];
			for await (const event of runMerge({
				recipe,
				outDir: out,
				seed: 1,
				// Whole-file downloads, as mergekit does them (streamed weights are the next test's subject).
				downloadFirst: true,
				models: { cacheDir: cache, offline: false, hub: { hubUrl: server.url, accessToken: ALICE, fetch: hubFetch } },
			})) {
				types.push(event.type);
			}
			return types;
		};
		await expect(run(dropping)).rejects.toThrow(
			/stopped after 5000 of \d+ bytes \(connection reset by peer\).*next run resumes/,
		);
		const blobs = await filesUnder(cache);
		const partial = blobs.filter((file) => file.endsWith(".incomplete"));
		expect(partial.length).toBeGreaterThan(0);
		for (const file of partial) {
			expect((await stat(file)).size).toBeLessThanOrEqual(cutAt);
		}
		expect(existsSync(out)).toBe(false);

		const { fetch: counting, requests } = countingFetch();
		const types = await run(counting);
		expect(types).toContain("downloaded");
		expect(types.at(-1)).toBe("done");
		expect(requests.filter((r) => r.range === `bytes=${cutAt}-`).length).toBeGreaterThan(0);
		expect((await filesUnder(cache)).filter((file) => file.endsWith(".incomplete"))).toEqual([]);
		// The same weights as the CLI's merge of these models.
		const reference = join(dir, "published", "model.safetensors");
		expect((await readFile(join(out, "model.safetensors"))).equals(await readFile(reference))).toBe(true);
	});
});

describe("weights streamed into the merge", () => {
	/** Runs the merge; `onPlanned` is called when the plan is made, before any weight is fetched. */
	const merge = async (
		cache: string,
		out: string,
		hubFetch: typeof fetch,
		downloadFirst = false,
		onPlanned = (): void => undefined,
	): Promise<string[]> => {
		const types: string[] = [];
		for await (const event of runMerge({
			recipe: recipeOf(RECIPE),
			outDir: out,
			seed: 1,
			...(downloadFirst ? { downloadFirst: true } : {}),
			models: { cacheDir: cache, offline: false, hub: { hubUrl: server.url, accessToken: ALICE, fetch: hubFetch } },
		})) {
			types.push(event.type);
			if (event.type === "planned") {
				onPlanned();
			}
		}
		return types;
	};

	it("fetches each weight byte once, by tensor, merges as downloading first does, and leaves the cache whole", async () => {
		const cache = join(dir, "stream-cache");
		const { fetch: counting, requests } = countingFetch();
		const out = join(dir, "streamed");
		let preflightRequests = 0;
		const types = await merge(cache, out, counting, false, () => {
			preflightRequests = requests.length;
		});
		expect(types.at(-1)).toBe("done");
		// Tensors arrive while the merge runs: the first merged tensor comes before the models count as downloaded.
		expect(types.indexOf("tensor")).toBeLessThan(types.indexOf("downloaded"));
		const weights = requests
			.slice(preflightRequests)
			.filter((r) => new URL(r.url).pathname.endsWith(".safetensors") && r.method === "GET");
		expect(weights.length).toBeGreaterThan(10);
		// Every weight request names a closed range, and per file the ranges add up to its size without overlap.
		const byFile = new Map<string, [number, number][]>();
		for (const request of weights) {
			const range = /^bytes=(\d+)-(\d+)$/.exec(request.range ?? "");
			expect(range, `${request.url} ${request.range}`).not.toBeNull();
			const path = new URL(request.url).pathname;
			byFile.set(path, [...(byFile.get(path) ?? []), [Number(range?.[1]), Number(range?.[2]) + 1]]);
		}
		const blobs = await filesUnder(cache);
		expect(blobs.filter((file) => /\.(streaming|incomplete)$/.test(file))).toEqual([]);
		for (const [path, ranges] of byFile) {
			const sorted = ranges.sort((a, b) => a[0] - b[0]);
			sorted.forEach(([start], i) => {
				expect(start, path).toBe(i === 0 ? 0 : (sorted[i - 1] as [number, number])[1]);
			});
			const [, repo, name, , , ...file] = path.split("/");
			const cached = join(
				cache,
				`models--${repo}--${name}`,
				"snapshots",
				commits.get(`${repo}/${name}`) ?? "",
				...file,
			);
			expect((sorted.at(-1) as [number, number])[1], path).toBe((await stat(cached)).size);
		}
		// The same bytes as merging after whole downloads.
		const first = join(dir, "downloaded-first");
		await merge(join(dir, "download-first-cache"), first, fetch, true);
		expect(
			(await readFile(join(out, "model.safetensors"))).equals(await readFile(join(first, "model.safetensors"))),
		).toBe(true);
		// The cache is complete: an offline merge reads it.
		const offline = await runCli(["merge", await writeRecipe("ties", RECIPE), "--dry-run"], {
			...env(cache),
			HF_HUB_OFFLINE: "1",
		});
		expect(offline.code, offline.stderr).toBe(0);
	});

	it("stops with the file and byte range named when the Hub cannot serve a tensor, and keeps nothing partial", async () => {
		const cache = join(dir, "stream-fail-cache");
		// Once planned (preflight has read the headers), every read of instruct's weights fails.
		let planned = false;
		const failing = (async (input: string | URL | Request, init?: RequestInit) => {
			if (planned && String(input).includes("instruct") && new Headers(init?.headers).has("Range")) {
				throw new TypeError("fetch failed");
			}
			return fetch(input, init);
		}) as typeof fetch;
		const out = join(dir, "stream-failed");
		await expect(
			merge(cache, out, failing, false, () => {
				planned = true;
			}),
		).rejects.toThrow(
			/reading bytes \d+-\d+ of tiny-models\/instruct\/model\.safetensors from the Hub failed: fetch failed/,
		);
		expect((await filesUnder(cache)).filter((file) => /\.(streaming|incomplete)$/.test(file))).toEqual([]);
		expect(existsSync(join(out, "model.safetensors"))).toBe(false);
	});
});

describe("publishing in-process", () => {
	it("creates a private repo with --private and reports upload progress per file", async () => {
		const hub = { hubUrl: server.url, accessToken: ALICE };
		const out = join(dir, "published");
		const files = (await filesUnder(out)).map((file) => relative(out, file));
		const events = [];
		for await (const event of pushToHub({
			repoId: "alice/secret",
			hub,
			outDir: out,
			files,
			private: true,
			title: "Merge",
		})) {
			events.push(event);
		}
		const uploads = events.filter((event) => event.type === "upload");
		for (const file of files) {
			expect(uploads.some((event) => event.file === file && event.bytesDone === event.bytesTotal)).toBe(true);
		}
		expect(events.at(-1)).toMatchObject({ type: "published", repo: "alice/secret", createdRepo: true });
		expect((await modelInfo({ name: "alice/secret", ...hub })).private).toBe(true);
		expect(await repoExists({ repo: "alice/secret", hubUrl: server.url })).toBe(false);
	});
});

describe("publishing that fails", () => {
	it("deletes the repo it created when the upload fails, so nothing is half-published", async () => {
		const out = join(dir, "published");
		const files = (await filesUnder(out)).map((file) => relative(out, file));
		// The LFS batch call, which hands out the storage URLs for large files, fails.
		const failing = (async (input: string | URL | Request, init?: RequestInit) =>
			String(input).endsWith("/info/lfs/objects/batch")
				? new Response("storage unavailable", { status: 503 })
				: fetch(input, init)) as typeof fetch;
		const hub = { hubUrl: server.url, accessToken: ALICE };
		const push = pushToHub({
			repoId: "alice/rolled-back",
			hub: { ...hub, fetch: failing },
			outDir: out,
			files,
			title: "Merge",
		});
		const failure = await (async () => {
			try {
				for await (const _event of push) {
					// progress events are not needed here
				}
				return undefined;
			} catch (error) {
				return error;
			}
		})();
		expect(failure).toBeInstanceOf(PushError);
		expect((failure as Error).message).toMatch(
			/publishing to alice\/rolled-back failed: .*alice\/rolled-back, which this push had created, was deleted again/,
		);
		expect(await repoExists({ repo: { type: "model", name: "alice/rolled-back" }, ...hub })).toBe(false);
	});

	it("keeps an existing repo as it was when an --overwrite upload fails", async () => {
		const hub = { hubUrl: server.url, accessToken: ALICE };
		const before = (await modelInfo({ name: "alice/merged", additionalFields: ["sha"], ...hub })).sha;
		const failing = (async (input: string | URL | Request, init?: RequestInit) =>
			String(input).includes("/commit/")
				? new Response(JSON.stringify({ error: "boom" }), {
						status: 500,
						headers: { "Content-Type": "application/json" },
					})
				: fetch(input, init)) as typeof fetch;
		const out = join(dir, "published");
		await mkdir(out, { recursive: true });
		const push = pushToHub({
			repoId: "alice/merged",
			overwrite: true,
			hub: { ...hub, fetch: failing },
			outDir: out,
			files: (await filesUnder(out)).map((file) => relative(out, file)),
			title: "Merge",
		});
		await expect(
			(async () => {
				for await (const _event of push) {
					// drain
				}
			})(),
		).rejects.toThrow(/Nothing was committed/);
		expect((await modelInfo({ name: "alice/merged", additionalFields: ["sha"], ...hub })).sha).toBe(before);
	});
});
