import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { makeTinyModel } from "../../src/fixtures/make-tiny-model.js";
import { parseRecipe } from "../../src/recipe/parse-recipe.js";
import { runMerge } from "../../src/run-merge.js";
import { ShardWriter } from "../../src/safetensors/shard-writer.js";
import { readModelTensors } from "../helpers/read-model-tensors.js";

/**
 * Results are written while later tensors compute, several writes on their way at once: the output must not depend
 * on how long the writes take, and a write that fails must fail the merge with nothing published.
 */

let dir: string;
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-writes-"));
	const common = { family: "llama", layers: 3, seed: 4 } as const;
	await makeTinyModel(join(dir, "base"), common);
	await makeTinyModel(join(dir, "a"), { ...common, drift: { seed: 5, scale: 0.05 } });
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
	vi.restoreAllMocks();
});

async function merge(name: string): Promise<string> {
	const { recipe } = parseRecipe(`merge_method: slerp
base_model: ${join(dir, "base")}
parameters: {t: 0.3}
models:
  - model: ${join(dir, "a")}
dtype: bfloat16
`);
	if (!recipe) {
		throw new Error("recipe");
	}
	const outDir = join(dir, name);
	await mkdir(outDir, { recursive: true });
	for await (const _ of runMerge({ recipe, outDir, seed: 1 })) {
		// Progress events are not what this test is about.
	}
	return outDir;
}

/** Delays every write by a few milliseconds, the first ones most, so that writes finish out of order. */
function slowWrites(fail?: string): void {
	const write = ShardWriter.prototype.write;
	let count = 0;
	vi.spyOn(ShardWriter.prototype, "write").mockImplementation(async function (this: ShardWriter, name, bytes, from) {
		const delay = Math.max(0, 20 - 2 * count++);
		await new Promise((resolve) => setTimeout(resolve, delay));
		if (name === fail) {
			throw new Error(`no space left on device while writing ${name}`);
		}
		return write.call(this, name, bytes, from);
	});
}

describe("writing results while later tensors compute", () => {
	it("writes the same model whether the writes are fast or slow and out of order", async () => {
		const fast = await readModelTensors(await merge("fast"));
		slowWrites();
		const slow = await readModelTensors(await merge("slow"));
		expect([...slow.keys()].sort()).toEqual([...fast.keys()].sort());
		for (const [name, tensor] of fast) {
			expect(slow.get(name), name).toEqual(tensor);
		}
	});

	it("fails the merge with the write's error, and leaves no weights behind", async () => {
		slowWrites("model.layers.1.mlp.up_proj.weight");
		await expect(merge("failed")).rejects.toThrow(
			"no space left on device while writing model.layers.1.mlp.up_proj.weight",
		);
		const left = await readdir(join(dir, "failed"));
		expect(left.filter((file) => file.includes("safetensors"))).toEqual([]);
	});
});
