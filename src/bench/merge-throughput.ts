import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hugePages, loadHelper } from "../engine/huge-pages.js";
import { chooseHelper, MappedReads, mappedReads } from "../engine/mapped-reads.js";
import { defaultThreads } from "../execute/execute-plan.js";
import { type BenchModels, benchModels } from "./bench-models.js";
import { type BenchRecipe, benchRecipes } from "./bench-recipes.js";
import { ioFloor, writeFloor } from "./io-floor.js";
import { printTable } from "./measure.js";
import { type ChildMerge, runMergeChild } from "./run-merge-child.js";
import {
	findTorchPython,
	firstLayerTensors,
	type MathMeasure,
	measureOwnMath,
	runTorchReference,
	type TorchMeasure,
} from "./torch-reference.js";

export interface MergeBenchOptions {
	/** 2-layer models instead of 3 × 1.1 B. */
	small: boolean;
	/** Methods to run (default: all). */
	methods?: readonly string[];
	/** Extra `mergesmith merge` arguments (e.g. `--device cpu`). */
	mergeArgs?: readonly string[];
	/** Where the synthetic models are kept between runs. */
	cacheDir?: string;
	/** Runs of each merge and of its floor; the fastest of each is reported (default 2: one machine's noise). */
	runs?: number;
}

const GB = 1e9;
const TARGETS = {
	elementwise: "≥ 2 GB/s, ≤ 1.5× floor",
	selection: "≥ 1 GB/s",
	della: "≥ 0.5 GB/s",
} as const;

async function weightFiles(dir: string): Promise<string[]> {
	return (await readdir(dir)).filter((name) => name.endsWith(".safetensors")).map((name) => join(dir, name));
}

async function totalSize(paths: readonly string[]): Promise<number> {
	let total = 0;
	for (const path of paths) {
		total += (await stat(path)).size;
	}
	return total;
}

interface Measured {
	recipe: BenchRecipe;
	inputBytes: number;
	seconds: number;
	floor: number;
	/** The merge's writer writing an output of the same size alone (see writeFloor). */
	writeFloor: number;
	maxRssBytes: number;
	/** mergekit's math in PyTorch on a sample of the same tensors, and ours on them, where PyTorch is installed. */
	torch?: { theirs: TorchMeasure; ours: MathMeasure };
}

/** Where PyTorch is installed: which Python imports it, and the tensors its reference merges. */
interface TorchSample {
	python: string;
	tensors: readonly string[];
}

async function measure(
	recipe: BenchRecipe,
	models: BenchModels,
	work: string,
	mergeArgs: readonly string[],
	runs: number,
	torch?: TorchSample,
): Promise<Measured> {
	const inputs = (await Promise.all(recipe.inputs.map((key) => weightFiles(models[key])))).flat();
	const inputBytes = await totalSize(inputs);
	const recipeFile = join(work, `${recipe.method}.yml`);
	await writeFile(recipeFile, recipe.yaml);
	const out = join(work, "out");
	let seconds = Number.POSITIVE_INFINITY;
	let floor = Number.POSITIVE_INFINITY;
	let writeSeconds = Number.POSITIVE_INFINITY;
	let maxRssBytes = 0;
	let compared: Measured["torch"];
	for (let run = 0; run < runs; run++) {
		const result = await mergeInto(out, recipe, recipeFile, mergeArgs);
		const outBytes = await totalSize(await weightFiles(out));
		if (torch && run === runs - 1) {
			compared = {
				theirs: await runTorchReference(torch.python, recipe, models, torch.tensors, out),
				ours: await measureOwnMath(recipeFile, torch.tensors),
			};
		}
		await rm(out, { recursive: true, force: true });
		// Measured right after the merge, on the same files in the same state of the page cache.
		floor = Math.min(floor, await ioFloor(inputs, outBytes, join(work, "floor.bin")));
		writeSeconds = Math.min(writeSeconds, await writeFloor(outBytes, join(work, "write-floor")));
		seconds = Math.min(seconds, result.seconds);
		maxRssBytes = Math.max(maxRssBytes, result.maxRssBytes);
	}
	return {
		recipe,
		inputBytes,
		seconds,
		floor,
		writeFloor: writeSeconds,
		maxRssBytes,
		...(compared ? { torch: compared } : {}),
	};
}

/** One merge of `recipeFile` in a child process, into `out` emptied first; a failed merge stops the bench. */
async function mergeInto(
	out: string,
	recipe: BenchRecipe,
	recipeFile: string,
	mergeArgs: readonly string[],
	env: NodeJS.ProcessEnv = {},
): Promise<ChildMerge> {
	await rm(out, { recursive: true, force: true });
	const result = await runMergeChild([recipeFile, "--out", out, ...mergeArgs], env);
	if (result.code !== 0) {
		throw new Error(`${recipe.method}: the merge exited ${result.code}: ${result.stderr}`);
	}
	return result;
}

function target(recipe: BenchRecipe): string {
	return recipe.method === "della" ? TARGETS.della : TARGETS[recipe.kind];
}

function row(m: Measured): string[] {
	return [
		m.recipe.method,
		(m.inputBytes / GB).toFixed(2),
		m.seconds.toFixed(2),
		(m.inputBytes / GB / m.seconds).toFixed(2),
		m.floor.toFixed(2),
		`${(m.seconds / m.floor).toFixed(2)}×`,
		m.writeFloor.toFixed(2),
		(m.inputBytes / GB / m.writeFloor).toFixed(2),
		(m.maxRssBytes / GB).toFixed(2),
		target(m.recipe),
	];
}

/**
 * Merge throughput: every method over synthetic bf16 models, each merge in a child process (`mergesmith merge`,
 * the whole command), beside the I/O floor measured right after it on the same files; then a model twice as deep,
 * to show that peak memory does not grow with depth. Prints tables; asserts nothing.
 */
export async function benchMergeThroughput(options: MergeBenchOptions): Promise<void> {
	const cacheDir = options.cacheDir ?? join(tmpdir(), "mergesmith-bench-models");
	const mergeArgs = options.mergeArgs ?? [];
	const runs = options.runs ?? 2;
	const work = join(cacheDir, "work");
	await mkdir(work, { recursive: true });
	const models = await benchModels(cacheDir, options.small, 1);
	const chosen = benchRecipes(models).filter(
		(recipe) => options.methods === undefined || options.methods.includes(recipe.method),
	);
	// Bring every input into the page cache first, as it is for all but the first merge of a real session.
	const warm = async (set: BenchModels): Promise<void> => {
		await ioFloor((await Promise.all([set.base, set.a, set.b].map(weightFiles))).flat(), 0, join(work, "warm.bin"));
	};
	await warm(models);
	const header = [
		"method",
		"input GB",
		"wall s",
		"input GB/s",
		"I/O floor s",
		"÷ floor",
		"write floor s",
		"GB/s at write floor",
		"peak RSS GB",
		"target",
	];
	const python = await findTorchPython();
	const torch = python === undefined ? undefined : { python, tensors: await firstLayerTensors(models.base) };
	const rows: string[][] = [];
	const torchRows: string[][] = [];
	for (const recipe of chosen) {
		const measured = await measure(recipe, models, work, mergeArgs, runs, torch);
		rows.push(row(measured));
		if (measured.torch) {
			torchRows.push(torchRow(measured, measured.torch, models));
		}
		process.stderr.write(`${row(measured).join("  ")}\n`);
	}
	const size = `${options.small ? "2-layer" : "22-layer"} Llama widths, ${(models.parameters / GB).toFixed(2)} B parameters per model`;
	printTable(
		`Merge throughput, bf16 inputs (${size}; ${mergeArgs.length > 0 ? mergeArgs.join(" ") : "default device"}; huge pages ${hugePages().status.on ? "on" : "off"}; inputs ${mappedReads().status.on ? "mapped" : "read"}; fastest of ${runs} run${runs === 1 ? "" : "s"} each, merge and floor)`,
		header,
		rows,
	);
	console.log(
		"write floor: the merge's own writer writing an output of the same size and nothing else (direct writes, synced); GB/s at write floor: the input GB/s of a merge that took no longer.",
	);
	const deep = await benchModels(cacheDir, options.small, 2);
	const depthRows: string[][] = [];
	for (const method of ["task_arithmetic", "ties"]) {
		const shallowRecipe = benchRecipes(models).find((recipe) => recipe.method === method);
		const deepRecipe = benchRecipes(deep).find((recipe) => recipe.method === method);
		if (!shallowRecipe || !deepRecipe) {
			continue;
		}
		// The highest peak of `runs` merges each: one merge's peak moves by a few tens of MB from run to run. Each depth's
		// inputs are read into the page cache first (the deep ones do not fit beside the rest): a merge of inputs partly
		// cached holds read buffers beside mapped inputs (see MappedReads), a peak neither depth has of itself.
		await warm(models);
		const shallowRun = await measure(shallowRecipe, models, work, mergeArgs, runs);
		await warm(deep);
		const deepRun = await measure(deepRecipe, deep, work, mergeArgs, runs);
		depthRows.push([
			method,
			(shallowRun.maxRssBytes / GB).toFixed(2),
			(deepRun.maxRssBytes / GB).toFixed(2),
			`${((deepRun.maxRssBytes / shallowRun.maxRssBytes - 1) * 100).toFixed(1)}%`,
			(deepRun.inputBytes / GB / deepRun.seconds).toFixed(2),
			"< 1.5 GB, 2× depth within 10%",
		]);
	}
	printTable(
		`Peak resident memory against depth (same widths, 2× the layers; the highest of ${runs} run${runs === 1 ? "" : "s"} each)`,
		["method", "peak RSS GB (1×)", "peak RSS GB (2×)", "growth", "2× input GB/s", "target"],
		depthRows,
	);
	const huge = hugePages().status;
	await benchSideBySide(
		{
			title: `Huge pages for the working memory${huge.on ? ` (${huge.how})` : ""}`,
			env: { off: { MERGESMITH_HUGE_PAGES: "0" }, on: {} },
			status: huge,
			columns: ["4 KiB pages", "huge pages"],
		},
		chosen,
		work,
		mergeArgs,
		runs,
	);
	await benchSideBySide(
		{
			title: "Inputs mapped from the page cache",
			env: { off: {}, on: { MERGESMITH_MAPPED_READS: "1" } },
			status: new MappedReads(chooseHelper("1", process.platform, loadHelper)).status,
			columns: ["read", "mapped"],
		},
		chosen,
		work,
		mergeArgs,
		runs,
	);
	if (torch === undefined) {
		console.log(
			"\nPyTorch reference: no Python here imports torch and numpy (tried $MERGESMITH_PYTHON, python3, /usr/bin/python3), so no ratio against mergekit's math is reported. On Debian: apt-get install python3-torch.",
		);
		return;
	}
	printTable(
		`Against mergekit's math in PyTorch (${torch.python}): both sides' arithmetic alone on the first layer's ${torch.tensors.length} tensors, inputs in memory, ${defaultThreads()} threads, fastest of 2 each; beside it the whole mergesmith merge command`,
		[
			"method",
			"PyTorch M params/s",
			"mergesmith M params/s",
			"ratio",
			"whole merge M params/s",
			"ratio",
			"same bits",
			"max |Δ|",
			"target",
		],
		torchRows,
	);
}

/** Methods whose masks are random draws: PyTorch's generator and ours draw different ones from the same seed. */
const RANDOM_MASKS = new Set(["dare_linear", "dare_ties", "della"]);

function torchRow(m: Measured, torch: NonNullable<Measured["torch"]>, models: BenchModels): string[] {
	const whole = (m.recipe.inputs.length * models.parameters) / m.seconds;
	const theirs = torch.theirs.inputParameters / torch.theirs.seconds;
	const ours = torch.ours.inputParameters / torch.ours.seconds;
	const compared = torch.theirs.compared;
	const same = compared === null ? "—" : `${((compared.equal / compared.elements) * 100).toFixed(2)}%`;
	return [
		m.recipe.method,
		(theirs / 1e6).toFixed(1),
		(ours / 1e6).toFixed(0),
		`${(ours / theirs).toFixed(0)}×`,
		(whole / 1e6).toFixed(0),
		`${(whole / theirs).toFixed(0)}×`,
		RANDOM_MASKS.has(m.recipe.method) ? `${same} (own masks)` : same,
		compared === null ? "—" : compared.maxAbsDiff.toPrecision(2),
		"≥ 20×",
	];
}

/** A setting of the merge's that the bench measures on and off (each side's environment), side by side. */
interface SideBySide {
	/** What it is, in the table's title. */
	title: string;
	env: { off: Record<string, string>; on: Record<string, string> };
	status: { on: true } | { on: false; reason: string; remedy?: string };
	columns: [off: string, on: string];
}

/**
 * The same merges with a setting on and off, alternately, fastest of `runs` each: what it gives on this machine.
 * Linear and ties stand for the two kinds of method.
 */
async function benchSideBySide(
	setting: SideBySide,
	chosen: readonly BenchRecipe[],
	work: string,
	mergeArgs: readonly string[],
	runs: number,
): Promise<void> {
	const { status } = setting;
	if (!status.on) {
		console.log(`\n${setting.title}: off (${status.reason})${status.remedy ? `; ${status.remedy}` : ""}.`);
		return;
	}
	const rows: string[][] = [];
	for (const recipe of chosen.filter((candidate) => ["linear", "ties"].includes(candidate.method))) {
		// Written again: the depth table's merges of the same methods wrote theirs over it.
		const recipeFile = join(work, `${recipe.method}.yml`);
		await writeFile(recipeFile, recipe.yaml);
		const out = join(work, "out");
		const fastest = { off: Number.POSITIVE_INFINITY, on: Number.POSITIVE_INFINITY };
		const faults = { off: 0, on: 0 };
		for (let run = 0; run < runs; run++) {
			for (const side of ["off", "on"] as const) {
				const result = await mergeInto(out, recipe, recipeFile, mergeArgs, setting.env[side]);
				fastest[side] = Math.min(fastest[side], result.seconds);
				faults[side] = result.pageFaults;
			}
		}
		await rm(out, { recursive: true, force: true });
		rows.push([
			recipe.method,
			fastest.off.toFixed(2),
			fastest.on.toFixed(2),
			`${(fastest.off / fastest.on).toFixed(2)}×`,
			`${Math.round(faults.off / 1000)}k`,
			`${Math.round(faults.on / 1000)}k`,
		]);
	}
	const [off, on] = setting.columns;
	const variables = (env: Record<string, string>): string =>
		Object.entries(env)
			.map(([name, value]) => `${name}=${value}`)
			.join(" ") || "the default";
	printTable(
		`${setting.title}: ${variables(setting.env.on)} side by side with ${variables(setting.env.off)}, fastest of ${runs}`,
		["method", `${off} s`, `${on} s`, "speed-up", `page faults (${off})`, `page faults (${on})`],
		rows,
	);
}
