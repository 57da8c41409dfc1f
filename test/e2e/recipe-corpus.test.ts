import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTinyAdapter } from "../../src/fixtures/make-tiny-adapter.js";
import { makeTinyModel, type TinyModelOptions } from "../../src/fixtures/make-tiny-model.js";
import { referencedModels } from "../../src/plan/referenced-models.js";
import { parseRecipes } from "../../src/recipe/parse-recipes.js";
import type { ModelReference, Recipe } from "../../src/recipe/recipe.js";
import { stageReferenceName } from "../../src/recipe/stage-reference-name.js";
import { PROJECT_ROOT } from "../helpers/run-cli.js";
import { runMain } from "../helpers/run-main.js";

/**
 * Every published recipe in test/fixtures/recipes runs end to end against tiny stand-ins of its models, laid out
 * as Hugging Face cache snapshots and read with HF_HUB_OFFLINE=1; every recipe in invalid/ fails with the message
 * its `# expect:` line gives, from `mergesmith validate` or, for mistakes only the models reveal, `mergesmith merge`.
 *
 * A recipe's header names its stand-ins: `# stand-ins: <preset> [local]` for every model it names, and
 * `# stand-in: <path> [<preset>] [local] [adapter] [use_dora]` for exceptions. Presets keep the real layer counts
 * (recipes use layer_range) with tiny widths.
 */

const CORPUS = join(PROJECT_ROOT, "test", "fixtures", "recipes");
const INVALID = join(CORPUS, "invalid");

const PRESETS: Record<string, TinyModelOptions> = {
	"mistral-7b": { family: "mistral", layers: 32 },
	// Mistral-Nemo and Mistral-Small 3.x: a head width (128) that is not hidden / heads.
	nemo: { family: "mistral", layers: 40, headDim: 8, kvHeads: 1 },
	"mistral-small-24b": { family: "mistral", layers: 40, headDim: 8, kvHeads: 1 },
	"mixtral-8x7b": { family: "mixtral", layers: 32, experts: 8, kvHeads: 1 },
	"llama3-8b": { family: "llama", layers: 32, kvHeads: 1 },
	"llama3-70b": { family: "llama", layers: 80, kvHeads: 1 },
	"minitron-4b": { family: "llama", layers: 32, kvHeads: 1 },
	"solar-10.7b": { family: "llama", layers: 48 },
	"qwen2.5-7b": { family: "qwen2", layers: 28, kvHeads: 1 },
	"qwen2.5-14b": { family: "qwen2", layers: 48, kvHeads: 1 },
	"gemma2-9b": { family: "gemma2", layers: 42 },
};
const SIZES = { hidden: 8, intermediate: 12, vocab: 32 } as const;

interface StandIn {
	preset: string;
	local: boolean;
	adapter: boolean;
	dora: boolean;
}

interface Header {
	source: string | undefined;
	expect: RegExp | undefined;
	standIns: StandIn;
	overrides: Map<string, Partial<StandIn>>;
}

function readHeader(text: string, file: string): Header {
	const header: Header = {
		source: undefined,
		expect: undefined,
		standIns: { preset: "", local: false, adapter: false, dora: false },
		overrides: new Map(),
	};
	for (const line of text.split("\n")) {
		const match = /^# (source|seen|expect|stand-ins|stand-in): (.*)$/.exec(line.trim());
		if (!match) {
			continue;
		}
		const [, key, value = ""] = match;
		const words = value.trim().split(/\s+/);
		if (key === "source" || key === "seen") {
			header.source = value;
		} else if (key === "expect") {
			header.expect = new RegExp(value);
		} else if (key === "stand-ins") {
			header.standIns = { preset: words[0] ?? "", local: words.includes("local"), adapter: false, dora: false };
		} else if (key === "stand-in") {
			const [path = "", ...rest] = words;
			const preset = rest.find((word) => word in PRESETS);
			header.overrides.set(path, {
				...(preset === undefined ? {} : { preset }),
				...(rest.includes("local") ? { local: true } : {}),
				...(rest.includes("adapter") ? { adapter: true } : {}),
				...(rest.includes("use_dora") ? { dora: true } : {}),
			});
		}
	}
	if (header.source === undefined) {
		throw new Error(`${file} has no "# source:" (or "# seen:") line`);
	}
	return header;
}

let work: string;
let cache: string;
/** Stand-ins already made, by path, with the spec they were made with: a path must mean one model corpus-wide. */
const made = new Map<string, string>();

const sha = (text: string): string => createHash("sha1").update(text).digest("hex");
const seedOf = (text: string): number => Number.parseInt(sha(text).slice(0, 6), 16);

async function snapshotDir(path: string, local: boolean): Promise<string> {
	if (local) {
		return join(work, path);
	}
	const repoDir = join(cache, `models--${path.replaceAll("/", "--")}`);
	await mkdir(join(repoDir, "refs"), { recursive: true });
	await writeFile(join(repoDir, "refs", "main"), sha(path));
	return join(repoDir, "snapshots", sha(path));
}

async function ensureModel(path: string, spec: StandIn): Promise<string> {
	const key = `${spec.preset}${spec.local ? " local" : ""}`;
	const dir = spec.local
		? join(work, path)
		: join(cache, `models--${path.replaceAll("/", "--")}`, "snapshots", sha(path));
	const previous = made.get(path);
	if (previous !== undefined) {
		if (previous !== key) {
			throw new Error(`stand-in ${path} is declared as ${key} here and as ${previous} elsewhere`);
		}
		return dir;
	}
	const preset = PRESETS[spec.preset];
	if (!preset) {
		throw new Error(`unknown stand-in preset "${spec.preset}" for ${path}`);
	}
	made.set(path, key);
	// Models of one preset are fine-tunes of one tiny base: same seed, a small drift of their own.
	await makeTinyModel(await snapshotDir(path, spec.local), {
		...SIZES,
		...preset,
		seed: seedOf(spec.preset),
		drift: { seed: seedOf(path), scale: 0.02 },
		license: "apache-2.0",
	});
	return dir;
}

async function ensureAdapter(path: string, modelDir: string, dora: boolean): Promise<void> {
	if (made.has(path)) {
		return;
	}
	made.set(path, "adapter");
	await makeTinyAdapter(await snapshotDir(path, false), {
		model: modelDir,
		seed: seedOf(path),
		...(dora ? { configOverrides: { use_dora: true } } : {}),
	});
}

/** Every model a recipe's stages read that is not one of its stages, tokenizer sources included. */
function externalReferences(recipes: readonly Recipe[]): ModelReference[] {
	const stages = new Set(recipes.flatMap((recipe) => (recipe.name === undefined ? [] : [recipe.name])));
	const references: ModelReference[] = [];
	for (const recipe of recipes) {
		references.push(...referencedModels(recipe));
		const tokenizer = recipe.tokenizer as { source?: unknown } | undefined;
		for (const source of [recipe.tokenizerSource, tokenizer?.source]) {
			if (typeof source === "string" && source !== "union" && source !== "base") {
				references.push({
					model: { path: source, revision: undefined },
					lora: undefined,
					overrideArchitecture: undefined,
					key: source,
					span: { line: 1, column: 1 },
				});
			}
		}
	}
	return references.filter((reference) => !stages.has(stageReferenceName(reference.model.path)));
}

async function prepare(text: string, header: Header): Promise<void> {
	const recipes = parseRecipes(text).flatMap((document) => (document.recipe ? [document.recipe] : []));
	for (const reference of externalReferences(recipes)) {
		const spec = { ...header.standIns, ...header.overrides.get(reference.model.path) };
		const modelDir = await ensureModel(reference.model.path, spec);
		if (reference.lora) {
			const lora = { ...header.standIns, ...header.overrides.get(reference.lora.path) };
			await ensureAdapter(reference.lora.path, modelDir, lora.dora === true);
		}
	}
}

/** Runs the CLI from the work folder, where recipes' relative paths (./fused_model, models/…) resolve. */
async function cli(args: readonly string[]) {
	const previous = process.cwd();
	process.chdir(work);
	try {
		return await runMain(args, { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: "1" });
	} finally {
		process.chdir(previous);
	}
}

/** The layer count the final stage's output must have: summed slices, or the stand-in's own. */
function expectedLayers(recipe: Recipe, header: Header): number | undefined {
	const slices = recipe.slices ?? Object.values(recipe.modules ?? {}).flatMap((module) => module.slices ?? []);
	if (slices.length > 0) {
		return slices.reduce((sum, slice) => {
			const range = slice.sources[0]?.layerRange;
			return sum + (range === undefined ? 0 : range[1] - range[0]);
		}, 0);
	}
	return PRESETS[header.standIns.preset]?.layers;
}

const valid = readdirSync(CORPUS)
	.filter((name) => name.endsWith(".yml"))
	.sort();
const invalid = readdirSync(INVALID)
	.filter((name) => name.endsWith(".yml"))
	.sort();

beforeAll(async () => {
	work = await mkdtemp(join(tmpdir(), "mergesmith-corpus-"));
	cache = join(work, "hf-cache");
});
afterAll(async () => {
	await rm(work, { recursive: true, force: true });
});

describe("published recipes, end to end", () => {
	it("has at least 40 of them, each with its source", () => {
		expect(valid.length).toBeGreaterThanOrEqual(40);
		for (const name of valid) {
			expect(readHeader(readFileSync(join(CORPUS, name), "utf8"), name).source, name).toMatch(/^https?:\/\//);
		}
	});

	it.each(valid)("%s", async (name) => {
		const file = join(CORPUS, name);
		const text = await readFile(file, "utf8");
		const header = readHeader(text, name);
		await prepare(text, header);
		const out = join(work, "out", name.replace(/\.yml$/, ""));
		const result = await cli(["merge", file, "--out", out, "--random-seed", "7"]);
		expect(result.stderr, result.stderr).not.toMatch(/(^|\n)[^\n]*error:/);
		expect(result.code, result.stderr).toBe(0);
		const recipes = parseRecipes(text).flatMap((document) => (document.recipe ? [document.recipe] : []));
		const final =
			recipes.find((recipe) => recipe.name === undefined) ?? (recipes.length === 1 ? recipes[0] : undefined);
		if (final === undefined) {
			// Every stage named: each output is kept under its name.
			for (const recipe of recipes) {
				expect(existsSync(join(out, recipe.name ?? "", "config.json")), recipe.name).toBe(true);
			}
			return;
		}
		const config = JSON.parse(await readFile(join(out, "config.json"), "utf8")) as { num_hidden_layers?: number };
		expect(config.num_hidden_layers).toBe(expectedLayers(final, header));
		expect(existsSync(join(out, "model.safetensors")) || existsSync(join(out, "model.safetensors.index.json"))).toBe(
			true,
		);
		expect(await readFile(join(out, "README.md"), "utf8")).toContain("mergekit_config.yml");
	});
});

describe("recipes with the mistakes people make", () => {
	it("has at least 15 of them, each with the message it must produce", () => {
		expect(invalid.length).toBeGreaterThanOrEqual(15);
		for (const name of invalid) {
			expect(readHeader(readFileSync(join(INVALID, name), "utf8"), name).expect, name).toBeDefined();
		}
	});

	it.each(invalid)("%s", async (name) => {
		const file = join(INVALID, name);
		const text = await readFile(file, "utf8");
		const header = readHeader(text, name);
		const validated = await cli(["validate", file]);
		if (validated.code !== 0) {
			expect(validated.code).toBe(1);
			expect(validated.stderr).toMatch(header.expect as RegExp);
			return;
		}
		// Only the models reveal this mistake: the merge must refuse it before writing anything.
		await prepare(text, header);
		const out = join(work, "refused", name.replace(/\.yml$/, ""));
		const merged = await cli(["merge", file, "--out", out]);
		expect(merged.code, merged.stderr).toBe(1);
		expect(merged.stderr).toMatch(header.expect as RegExp);
		expect(existsSync(join(out, "model.safetensors"))).toBe(false);
	});
});
