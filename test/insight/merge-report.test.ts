import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MergeEvent } from "../../src/execute/merge-events.js";
import { makeTinyModel } from "../../src/fixtures/make-tiny-model.js";
import type { MergeReport } from "../../src/insight/merge-report.js";
import { renderContributionChart } from "../../src/insight/render-contribution-chart.js";
import { renderSignConflictChart } from "../../src/insight/render-sign-conflict-chart.js";
import { renderSimilarityChart } from "../../src/insight/render-similarity-chart.js";
import { parseRecipe } from "../../src/recipe/parse-recipe.js";
import { runMerge } from "../../src/run-merge.js";
import { SafetensorsFile } from "../../src/safetensors/safetensors-file.js";
import { runCli } from "../helpers/run-cli.js";
import { checkXml } from "../helpers/xml-well-formed.js";

let dir: string;
let models: string;
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-report-"));
	models = join(dir, "models");
	const common = { family: "llama", layers: 3, seed: 21 } as const;
	await makeTinyModel(join(models, "base"), common);
	await makeTinyModel(join(models, "a"), { ...common, drift: { seed: 31, scale: 0.05 } });
	await makeTinyModel(join(models, "b"), { ...common, drift: { seed: 32, scale: 0.05 } });
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

async function readModel(path: string): Promise<Map<string, Float32Array>> {
	const file = await SafetensorsFile.open(join(path, "model.safetensors"));
	const out = new Map<string, Float32Array>();
	for (const name of file.tensors.keys()) {
		out.set(name, await file.readFloat32(name));
	}
	await file.close();
	return out;
}

const tiesRecipe = () => `merge_method: ties
base_model: ${join(models, "base")}
models:
  - model: ${join(models, "a")}
    parameters: {weight: 0.6, density: 0.5}
  - model: ${join(models, "b")}
    parameters: {weight: 0.4, density: 0.7}
`;

describe("merge-report.json, charts and card", () => {
	let out: string;
	let report: MergeReport;
	let stdout: string;
	beforeAll(async () => {
		const recipePath = join(dir, "ties.yml");
		await writeFile(recipePath, tiesRecipe());
		out = join(dir, "ties-out");
		const result = await runCli(["merge", recipePath, "--out", out, "--random-seed", "5"]);
		expect(result.stderr).toBe("");
		expect(result.code).toBe(0);
		stdout = result.stdout;
		report = JSON.parse(await readFile(join(out, "merge-report.json"), "utf8")) as MergeReport;
	});

	it("matches values computed independently from the weights, per layer and per module", async () => {
		const base = await readModel(join(models, "base"));
		const a = await readModel(join(models, "a"));
		const b = await readModel(join(models, "b"));
		const y = await readModel(out);
		expect(report.base).toBe(join(models, "base"));
		expect(report.models).toEqual([join(models, "a"), join(models, "b")]);
		const check = (names: string[], group: MergeReport["overall"]) => {
			let baseSq = 0;
			let deltaSq = 0;
			let conflicts = 0;
			let atBase = 0;
			let elements = 0;
			const normSq = [0, 0];
			let cross = 0;
			const dotDelta = [0, 0];
			for (const name of names) {
				const bb = base.get(name) as Float32Array;
				const xs = [a.get(name) as Float32Array, b.get(name) as Float32Array];
				const yy = y.get(name) as Float32Array;
				for (let j = 0; j < bb.length; j++) {
					const d = (yy[j] as number) - (bb[j] as number);
					const t = xs.map((x) => (x[j] as number) - (bb[j] as number));
					baseSq += (bb[j] as number) ** 2;
					deltaSq += d * d;
					conflicts += (t[0] as number) * (t[1] as number) < 0 ? 1 : 0;
					atBase += (t[0] as number) * (t[1] as number) < 0 && d === 0 ? 1 : 0;
					cross += (t[0] as number) * (t[1] as number);
					t.forEach((value, i) => {
						normSq[i] = (normSq[i] as number) + value * value;
						dotDelta[i] = (dotDelta[i] as number) + value * d;
					});
					elements++;
				}
			}
			expect(group.elements).toBe(elements);
			expect(group.relativeChange).toBeCloseTo(Math.sqrt(deltaSq / baseSq), 5);
			expect(group.signConflict).toBeCloseTo(conflicts / elements, 5);
			expect(group.conflictAtBase).toBeCloseTo(atBase / conflicts, 5);
			expect(group.meanTaskVectorCosine).toBeCloseTo(
				cross / Math.sqrt((normSq[0] as number) * (normSq[1] as number)),
				5,
			);
			[0, 1].forEach((i) => {
				expect(group.models[i]?.taskVectorNorm).toBeCloseTo(Math.sqrt(normSq[i] as number), 4);
				expect(group.models[i]?.deltaCosine).toBeCloseTo(
					(dotDelta[i] as number) / Math.sqrt((normSq[i] as number) * deltaSq),
					5,
				);
			});
		};
		const names = [...base.keys()];
		check(names, report.overall);
		const layer1 = report.layers.find((layer) => layer.layer === 1);
		expect(layer1).toBeDefined();
		check(
			names.filter((name) => name.includes(".layers.1.")),
			layer1 as MergeReport["overall"],
		);
		const mlp = report.modules.find((group) => group.module === "mlp");
		check(
			names.filter((name) => name.includes(".mlp.")),
			mlp as MergeReport["overall"],
		);
		// Kept fractions come from the kernel: floor(density·n) per tensor, so about the densities.
		expect(report.overall.models[0]?.keptFraction).toBeCloseTo(0.5, 1);
		expect(report.overall.models[1]?.keptFraction).toBeCloseTo(0.7, 1);
		expect(report.headline).toEqual({
			signConflict: report.overall.signConflict,
			taskVectorCosine: report.overall.meanTaskVectorCosine,
			relativeChange: report.overall.relativeChange,
		});
		expect(report.layers.map((layer) => layer.layer)).toEqual([0, 1, 2]);
	});

	it("writes three well-formed SVG charts and links them from the card with its summary", async () => {
		for (const chart of ["sign-conflict", "contribution", "similarity"]) {
			const svg = await readFile(join(out, "charts", `${chart}.svg`), "utf8");
			const { error, root, rootAttributes } = checkXml(svg);
			expect(error, chart).toBeUndefined();
			expect(root).toBe("svg");
			expect(rootAttributes.get("xmlns")).toBe("http://www.w3.org/2000/svg");
			expect(rootAttributes.get("viewBox")).toMatch(/^0 0 \d+(\.\d+)? \d+(\.\d+)?$/);
		}
		const card = await readFile(join(out, "README.md"), "utf8");
		expect(card).toContain("## What the merge did");
		expect(card).toContain("The merge moved the base's weights by");
		expect(card).toContain("Their signs disagree on");
		expect(card).toContain("| whole model |");
		expect(card).toContain("(charts/sign-conflict.svg)");
		expect(card).toContain("(charts/contribution.svg)");
		expect(card).toContain("(charts/similarity.svg)");
		expect(stdout).toMatch(
			/merge report: change [\d.]+% of the base .*sign conflict [\d.]+%, task-vector cosine -?[\d.]+/,
		);
	});

	it("escapes model names in the charts", () => {
		const odd: MergeReport = {
			...report,
			models: ["org/a&b<c>", 'org/"quoted"'],
		};
		for (const svg of [renderSignConflictChart(odd), renderContributionChart(odd), renderSimilarityChart(odd)]) {
			expect(svg).toBeDefined();
			expect(checkXml(svg ?? "").error).toBeUndefined();
		}
	});

	it("draws no chart when there is nothing to show", () => {
		const empty: MergeReport = {
			...report,
			base: null,
			models: [],
			layers: [],
			overall: { ...report.overall, elements: 0, signConflict: null, models: [], similarity: [] },
		};
		expect(renderSignConflictChart(empty)).toBeUndefined();
		expect(renderContributionChart(empty)).toBeUndefined();
		expect(renderSimilarityChart(empty)).toBeUndefined();
	});

	it("puts the headline numbers in the final event", async () => {
		const { recipe } = parseRecipe(tiesRecipe());
		if (!recipe) {
			throw new Error("recipe");
		}
		const outDir = join(dir, "events-out");
		await mkdir(outDir, { recursive: true });
		let done: Extract<MergeEvent, { type: "done" }> | undefined;
		for await (const event of runMerge({ recipe, outDir, seed: 5 })) {
			if (event.type === "done") {
				done = event;
			}
		}
		expect(done?.report?.headline).toEqual(report.headline);
		expect(done?.report?.charts).toEqual([
			"charts/sign-conflict.svg",
			"charts/contribution.svg",
			"charts/similarity.svg",
		]);
		expect(done?.files).toContain("merge-report.json");
	});
});

describe("the XML checker", () => {
	it("rejects what is not well formed", () => {
		expect(checkXml('<svg xmlns="x"><rect/></svg>').error).toBeUndefined();
		expect(checkXml("<svg><g></svg>").error).toBeDefined();
		expect(checkXml("<svg>a & b</svg>").error).toBeDefined();
		expect(checkXml('<svg a="1" a="2"/>').error).toBeDefined();
		expect(checkXml('<svg a="<"/>').error).toBeDefined();
		expect(checkXml("<svg/><svg/>").error).toBeDefined();
		expect(checkXml("<svg a=1/>").error).toBeDefined();
	});
});
