import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executePlan } from "../../src/execute/execute-plan.js";
import type { MergeEvent } from "../../src/execute/merge-events.js";
import { rowBlocks } from "../../src/execute/row-blocks.js";
import { makeTinyModel } from "../../src/fixtures/make-tiny-model.js";
import { multislerp } from "../../src/methods/multislerp.js";
import type { PlannedInput, PlannedTensor } from "../../src/plan/merge-plan.js";
import { parseRecipe } from "../../src/recipe/parse-recipe.js";
import { runMerge } from "../../src/run-merge.js";
import { SafetensorsFile, type TensorFile } from "../../src/safetensors/safetensors-file.js";
import { planRecipe } from "../helpers/plan-recipe.js";
import { readModelTensors } from "../helpers/read-model-tensors.js";

/**
 * Large tensors of elementwise methods, and of those that need only sums over the whole tensor first, are merged a
 * block of rows at a time, to hold less memory: the weights and the merge report must be those of the tensor merged
 * whole.
 */

function input(model: string, dtype: "BF16" | "F32", shape: number[]): PlannedInput {
	const byteLength = shape.reduce((a, b) => a * b, 1) * (dtype === "F32" ? 4 : 2);
	return {
		model,
		stored: { name: "w", file: `${model}.safetensors`, dtype, shape, byteOffset: 8, byteLength },
		params: {},
	};
}

function tensor(shape: number[], extra: Partial<PlannedTensor> = {}): PlannedTensor {
	return {
		name: "w",
		isEmbed: false,
		models: [input("a", "F32", shape), input("b", "BF16", shape)],
		base: undefined,
		params: {},
		shape,
		dtype: "BF16",
		computeDtype: "BF16",
		copyRaw: false,
		layer: undefined,
		...extra,
	};
}

describe("rowBlocks", () => {
	it("cuts a tensor into blocks of rows no larger than asked, each input at its own dtype's offsets", () => {
		const blocks = rowBlocks(tensor([10, 6]), { blockBytes: 100 }) ?? [];
		// The float32 input is the largest: 24 bytes a row, so four rows a block.
		expect(blocks.map((block) => block.tensor.shape)).toEqual([
			[4, 6],
			[4, 6],
			[2, 6],
		]);
		expect(blocks.map((block) => block.from)).toEqual([0, 48, 96]);
		expect(blocks.map((block) => block.last)).toEqual([false, false, true]);
		const last = blocks[2]?.tensor.models ?? [];
		expect(last.map((part) => [part.rowsFrom, part.stored.byteLength, part.stored.shape])).toEqual([
			[192, 48, [2, 6]],
			[96, 24, [2, 6]],
		]);
	});

	it("leaves whole what fits in one block, and tensors it cannot cut into rows of the same inputs", () => {
		expect(rowBlocks(tensor([10, 6]), { blockBytes: 240 })).toBeUndefined();
		expect(rowBlocks(tensor([10, 6], { copyRaw: true }), { blockBytes: 100 })).toBeUndefined();
		const cropped = tensor([10, 6]);
		cropped.models[1] = input("b", "BF16", [12, 6]);
		expect(rowBlocks(cropped, { blockBytes: 100 })).toBeUndefined();
		const patched = tensor([10, 6]);
		patched.models[0] = { ...(patched.models[0] as PlannedInput), lora: {} as NonNullable<PlannedInput["lora"]> };
		expect(rowBlocks(patched, { blockBytes: 100 })).toBeUndefined();
	});
});

let dir: string;
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-row-blocks-"));
	// Embeddings of 8 blocks of sums (8 × 65536 elements) for the methods that add them up first.
	const common = { family: "llama", layers: 1, seed: 3, vocab: 1024, hidden: 512, intermediate: 64 } as const;
	await makeTinyModel(join(dir, "base"), { ...common, dtype: "BF16" });
	await makeTinyModel(join(dir, "a"), { ...common, dtype: "BF16", drift: { seed: 5, scale: 0.05 } });
	// A float32 checkpoint among bfloat16 ones: its blocks lie at other offsets.
	await makeTinyModel(join(dir, "b"), { ...common, drift: { seed: 6, scale: 0.05 } });
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

const RECIPES = {
	linear: `merge_method: linear
models:
  - model: BASE
    parameters: {weight: 0.4}
  - model: A
    parameters: {weight: 0.3}
  - model: B
    parameters: {weight: 0.3}
dtype: bfloat16
`,
	task_arithmetic: `merge_method: task_arithmetic
base_model: BASE
models:
  - model: A
    parameters: {weight: 0.7}
  - model: B
    parameters: {weight: 0.5}
dtype: bfloat16
`,
	ram: `merge_method: ram
base_model: BASE
models:
  - model: A
  - model: B
dtype: bfloat16
`,
	slerp: `merge_method: slerp
base_model: BASE
parameters: {t: 0.3}
models:
  - model: A
dtype: bfloat16
`,
	nuslerp: `merge_method: nuslerp
base_model: BASE
models:
  - model: A
    parameters: {weight: 0.6}
  - model: B
    parameters: {weight: 0.4}
dtype: bfloat16
`,
	multislerp: `merge_method: multislerp
base_model: BASE
models:
  - model: A
    parameters: {weight: 0.6}
  - model: B
    parameters: {weight: 0.4}
dtype: bfloat16
`,
	model_stock: `merge_method: model_stock
base_model: BASE
models:
  - model: A
  - model: B
dtype: bfloat16
`,
	dare_linear: `merge_method: dare_linear
base_model: BASE
models:
  - model: A
    parameters: {weight: 0.7, density: 0.4}
  - model: B
    parameters: {weight: 0.5, density: 0.6}
dtype: bfloat16
`,
	dare_ties: `merge_method: dare_ties
base_model: BASE
models:
  - model: A
    parameters: {weight: 0.7, density: 0.4}
  - model: B
    parameters: {weight: 0.5, density: 1}
dtype: bfloat16
`,
	della: `merge_method: della
base_model: BASE
models:
  - model: A
    parameters: {weight: 0.7, density: 0.5, epsilon: 0.2}
  - model: B
    parameters: {weight: 0.5, density: 0.6}
dtype: bfloat16
`,
	della_linear: `merge_method: della_linear
base_model: BASE
parameters: {rescale: false}
models:
  - model: A
    parameters: {weight: 0.7, density: 0.5}
  - model: B
    parameters: {weight: 0.5, density: 1}
dtype: bfloat16
`,
	ties: `merge_method: ties
base_model: BASE
models:
  - model: A
    parameters: {weight: 0.7, density: 0.3}
  - model: B
    parameters: {weight: 0.5, density: 0.55}
dtype: bfloat16
`,
	breadcrumbs: `merge_method: breadcrumbs
base_model: BASE
models:
  - model: A
    parameters: {weight: 0.7, density: 0.4, gamma: 0.05}
  - model: B
    parameters: {weight: 0.5, density: 1}
dtype: bfloat16
`,
	breadcrumbs_ties: `merge_method: breadcrumbs_ties
base_model: BASE
models:
  - model: A
    parameters: {weight: 0.7, density: 0.5}
  - model: B
    parameters: {weight: 0.5, density: 0.6, gamma: 0.1}
dtype: bfloat16
`,
	sce: `merge_method: sce
base_model: BASE
parameters: {select_topk: 0.5}
models:
  - model: A
  - model: B
dtype: bfloat16
`,
	sce_all: `merge_method: sce
base_model: BASE
models:
  - model: A
  - model: B
dtype: bfloat16
`,
	nearswap: `merge_method: nearswap
base_model: BASE
parameters: {t: 0.01}
models:
  - model: A
dtype: bfloat16
`,
};

async function merge(
	method: keyof typeof RECIPES,
	name: string,
	rowBlockBytes?: number,
): Promise<{ out: string; events: MergeEvent[] }> {
	const text = RECIPES[method]
		.replace("BASE", join(dir, "base"))
		.replace("A\n", `${join(dir, "a")}\n`)
		.replace("B\n", `${join(dir, "b")}\n`);
	const { recipe } = parseRecipe(text);
	if (!recipe) {
		throw new Error(`recipe ${method}`);
	}
	const out = join(dir, name);
	await mkdir(out, { recursive: true });
	const events: MergeEvent[] = [];
	for await (const event of runMerge({ recipe, outDir: out, seed: 1, ...(rowBlockBytes ? { rowBlockBytes } : {}) })) {
		events.push(event);
	}
	return { out, events };
}

describe("merging large tensors in blocks of rows", () => {
	for (const method of Object.keys(RECIPES) as (keyof typeof RECIPES)[]) {
		it(`writes the weights and the report of the whole tensors (${method})`, async () => {
			const whole = await merge(method, `${method}-whole`);
			// Blocks of 128 KiB: the embeddings of the elementwise methods go in blocks of 64 to 128 rows, and those of the
			// methods that add up sums first in blocks of 128 rows, a block of sums each.
			const blocked = await merge(method, `${method}-blocked`, 128 * 1024);
			const expected = await readModelTensors(whole.out);
			const got = await readModelTensors(blocked.out);
			expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
			const differing = [...expected].filter(([name, values]) => !sameBits(got.get(name), values));
			expect(differing.map(([name]) => name)).toEqual([]);
			// One progress event per tensor, not per block, counting up to the plan's tensors.
			const progress = (events: MergeEvent[]) => events.flatMap((e) => (e.type === "tensor" ? [[e.name, e.done]] : []));
			expect(progress(blocked.events)).toEqual(progress(whole.events));
			const report = async (out: string) => JSON.parse(await readFile(join(out, "merge-report.json"), "utf8"));
			const [wholeReport, blockedReport] = [await report(whole.out), await report(blocked.out)];
			expect(blockedReport.tensors.length).toBe(wholeReport.tensors.length);
			// The same figures, to the last digits float64 sums in another order can change.
			expect(roundFigures(blockedReport)).toEqual(roundFigures(wholeReport));
		});
	}
});

describe("which tensors go in blocks of rows after a pass over their sums", () => {
	const embeddings = async (text: string) => {
		const plan = await planRecipe(
			text
				.replace("BASE", join(dir, "base"))
				.replace("A\n", `${join(dir, "a")}\n`)
				.replace("B\n", `${join(dir, "b")}\n`),
		);
		const tensor = plan.tensors.find((t) => t.name === "model.embed_tokens.weight");
		if (!tensor) {
			throw new Error("no embeddings planned");
		}
		return { applies: plan.method.blockSums?.applies(tensor) };
	};

	it("DARE's, whose rescale adds up each mask's norms; not without the rescale, nor in a float32 merge", async () => {
		expect(await embeddings(RECIPES.dare_linear)).toEqual({ applies: true });
		expect(await embeddings(RECIPES.dare_ties)).toEqual({ applies: true });
		expect(await embeddings(`${RECIPES.dare_linear}parameters: {rescale: false}\n`)).toEqual({ applies: false });
		expect(await embeddings(RECIPES.dare_linear.replace("bfloat16", "float32"))).toEqual({ applies: false });
	});

	it("TIES's and Model Breadcrumbs', which rank magnitudes over the whole tensor; not with the rescale", async () => {
		expect(await embeddings(RECIPES.ties)).toEqual({ applies: true });
		expect(await embeddings(RECIPES.breadcrumbs_ties)).toEqual({ applies: true });
		expect(await embeddings(`${RECIPES.ties}parameters: {rescale: true}\n`)).toEqual({ applies: false });
	});

	it("multislerp's, in one pass (the inner products of the vectors); not with one model, which is copied", async () => {
		expect(await embeddings(RECIPES.multislerp)).toEqual({ applies: true });
		const oneModel = RECIPES.multislerp.replace(/ {2}- model: B\n {4}parameters: \{weight: 0\.4\}\n/, "");
		expect(await embeddings(oneModel)).toEqual({ applies: false });
		expect(multislerp.blockSums?.passes).toBeUndefined();
	});

	it("DELLA's, whose masks are kept as bits, with the rescale and without", async () => {
		expect(await embeddings(RECIPES.della)).toEqual({ applies: true });
		expect(await embeddings(RECIPES.della_linear)).toEqual({ applies: true });
		expect(await embeddings(RECIPES.della.replace("bfloat16", "float32"))).toEqual({ applies: false });
	});
});

function sameBits(a: Float32Array | undefined, b: Float32Array): boolean {
	return (
		a !== undefined &&
		Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
	);
}

describe("merging in blocks of rows from the Hub", () => {
	it("reads each byte of a streamed input once: slerp, which reads blocks twice, merges such a tensor whole", async () => {
		const plan = await planRecipe(
			RECIPES.slerp.replace("BASE", join(dir, "base")).replace("A\n", `${join(dir, "a")}\n`),
		);
		const paths = new Set(
			plan.tensors.flatMap((t) => [t.base, ...t.models].flatMap((i) => (i ? [i.stored.file] : []))),
		);
		const files = new Map(
			await Promise.all([...paths].map(async (path) => [path, await SafetensorsFile.open(path)] as const)),
		);
		// The files as the Hub stream hands them to the executor, counting the bytes each read takes.
		const read = new Map<string, number>();
		const openStreamed = (path: string): TensorFile | undefined => {
			const file = files.get(path);
			return (
				file && {
					path,
					info: (name) => file.info(name),
					readBytes: async (name, target, range) => {
						const bytes = await file.readBytes(name, target, range);
						read.set(path, (read.get(path) ?? 0) + bytes.length);
						return bytes;
					},
					readFloat32: (name) => file.readFloat32(name),
					close: async () => undefined,
				}
			);
		};
		const out = join(dir, "slerp-streamed");
		await mkdir(out, { recursive: true });
		try {
			for await (const _ of executePlan(plan, out, { openStreamed, rowBlockBytes: 128 * 1024 })) {
				// Progress is not what this test is about.
			}
		} finally {
			await Promise.all([...files.values()].map((file) => file.close()));
		}
		const expected = new Map<string, number>();
		for (const tensor of plan.tensors) {
			for (const input of [tensor.base, ...tensor.models]) {
				if (input) {
					expected.set(input.stored.file, (expected.get(input.stored.file) ?? 0) + input.stored.byteLength);
				}
			}
		}
		expect(read).toEqual(expected);
	});
});

/** Every number of a report rounded to 9 significant digits. */
function roundFigures(value: unknown): unknown {
	if (typeof value === "number") {
		return Number(value.toPrecision(9));
	}
	if (Array.isArray(value)) {
		return value.map(roundFigures);
	}
	if (value && typeof value === "object") {
		return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, roundFigures(entry)]));
	}
	return value;
}
