import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { METHOD_GRAPHS } from "../../src/execute/onnx/method-graphs.js";
import {
	layOutCase,
	readCase,
	readExpected,
	readMerged,
	type TensorCase,
} from "../../src/fixtures/golden-tensor-check.js";
import { MERGE_METHODS } from "../../src/methods/registry.js";
import { compareTensors } from "../helpers/compare-tensors.js";
import { GOLDEN_DIR, runCli } from "../helpers/run-cli.js";

const CASES_DIR = join(GOLDEN_DIR, "mergekit-tensors");
const index = JSON.parse(await readFile(join(CASES_DIR, "INDEX.json"), "utf8")) as { cases: string[] };

/**
 * Methods the ONNX backend has no graph for: their cases run on `cpu` only. Kept as an explicit list (checked against
 * the graphs below) so that a skipped case is a decision written here, never a silent one.
 */
const NO_ONNX_GRAPH = ["arcee_fusion", "karcher", "multislerp", "nuslerp", "passthrough", "ram", "ramplus_tl"];

let workDir: string;
beforeAll(async () => {
	workDir = await mkdtemp(join(tmpdir(), "mergesmith-golden-tensors-"));
});
afterAll(async () => {
	await rm(workDir, { recursive: true, force: true });
});

/** Lays the case out as the golden README describes and runs the real command line on it. */
async function runCase(
	name: string,
	device?: string,
): Promise<{ got: Float32Array; expected: Float32Array; spec: TensorCase; bf16: boolean }> {
	const spec = await readCase(CASES_DIR, name);
	const caseDir = join(workDir, device === undefined ? name : `${name}-${device}`);
	const recipe = await layOutCase(CASES_DIR, name, spec, caseDir);
	const out = join(caseDir, "out");
	const result = await runCli(["merge", recipe, "--out", out, ...(device === undefined ? [] : ["--device", device])], {
		HF_HUB_CACHE: join(workDir, "cache"),
	});
	expect(result.stderr, `stdout:\n${result.stdout}`).not.toMatch(/error/);
	expect(result.code).toBe(0);
	const merged = await readMerged(out, spec.tensor);
	const { expected, bf16 } = await readExpected(CASES_DIR, name);
	return { got: merged.got, expected, spec, bf16: bf16 && merged.bf16 };
}

describe("golden mergekit-tensors cases through `mergesmith merge`", () => {
	it("covers all 33 cases", () => {
		expect(index.cases).toHaveLength(33);
	});
	for (const name of index.cases) {
		it(name, async () => {
			const { got, expected, spec, bf16 } = await runCase(name);
			expect(compareTensors(got, expected, spec.tolerance, bf16)).toBeUndefined();
		});
	}
});

describe("golden mergekit-tensors cases through `mergesmith merge --device onnx-cpu`", () => {
	it("skips exactly the methods without an ONNX graph", () => {
		const without = MERGE_METHODS.map((method) => method.name).filter((name) => !Object.hasOwn(METHOD_GRAPHS, name));
		expect(without.sort()).toEqual([...NO_ONNX_GRAPH].sort());
	});
	for (const name of index.cases) {
		it(name, async (test) => {
			const method = (await readCase(CASES_DIR, name)).recipe.merge_method;
			if (NO_ONNX_GRAPH.includes(method)) {
				test.skip(`${method} has no ONNX graph`);
			}
			const { got, expected, spec, bf16 } = await runCase(name, "onnx-cpu");
			expect(compareTensors(got, expected, spec.tolerance, bf16)).toBeUndefined();
		});
	}
});

/**
 * Cases whose every element mergesmith reproduces bit for bit, where it does each operation in mergekit's dtype and
 * order (float32 arithmetic in slerp's and nearswap's, bfloat16 roundings in linear's and TIES's): closer than the
 * tolerances above, which allow for float64 sums.
 */
const BIT_EXACT = [
	"arcee-fusion",
	"linear-bf16",
	"linear-unnormalized",
	"nearswap",
	"slerp-colinear",
	"slerp-t0.3",
	"ties-bf16-density1",
];

describe("golden cases reproduced bit for bit", () => {
	for (const name of BIT_EXACT) {
		for (const device of ["cpu", "onnx-cpu"]) {
			it(`${name}, --device ${device}`, async (test) => {
				const method = (await readCase(CASES_DIR, name)).recipe.merge_method;
				if (device !== "cpu" && NO_ONNX_GRAPH.includes(method)) {
					test.skip(`${method} has no ONNX graph`);
				}
				const { got, expected } = await runCase(name, device);
				const differing = got.filter((value, i) => !Object.is(value, expected[i])).length;
				expect(differing).toBe(0);
			});
		}
	}
});
