import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTinyModel } from "../../src/fixtures/make-tiny-model.js";
import { runCli } from "../helpers/run-cli.js";

let dir: string;
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-threads-"));
	// Embeddings of 1024 × 512 elements: large enough that the executor splits them across worker threads.
	const sizes = { family: "llama", layers: 1, hidden: 512, intermediate: 256, vocab: 1024, dtype: "BF16" } as const;
	await makeTinyModel(join(dir, "base"), { ...sizes, seed: 1 });
	await makeTinyModel(join(dir, "a"), { ...sizes, seed: 1, drift: { seed: 2, scale: 0.01 } });
	await makeTinyModel(join(dir, "b"), { ...sizes, seed: 1, drift: { seed: 3, scale: 0.01 } });
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

const PARAMETERS: Record<string, string> = { model_stock: "{}", multislerp: "{weight: 0.5}", sce: "{}" };
/** Recipe-wide parameters: SCE's selection counts a radix histogram across the threads. */
const GLOBAL: Record<string, string> = {
	sce: "parameters: {select_topk: 0.5}",
	breadcrumbs_ties: "parameters: {gamma: 0.01}",
};

describe("the CPU backend's threads", () => {
	for (const method of [
		"dare_ties",
		"dare_linear",
		"della",
		"ties",
		"breadcrumbs_ties",
		"sce",
		"linear",
		"model_stock",
		"multislerp",
	]) {
		it(`${method}: one thread and two write the same bytes`, async () => {
			const models = method === "linear" ? ["base", "a", "b"] : ["a", "b"];
			const recipe = [
				`merge_method: ${method}`,
				...(method === "linear" ? [] : [`base_model: ${join(dir, "base")}`]),
				"dtype: bfloat16",
				...(GLOBAL[method] ? [GLOBAL[method]] : []),
				"models:",
				...models.map(
					(name) =>
						`  - model: ${join(dir, name)}\n    parameters: ${PARAMETERS[method] ?? "{weight: 0.5, density: 0.4}"}`,
				),
			].join("\n");
			await writeFile(join(dir, `${method}.yml`), recipe);
			const outputs: Buffer[] = [];
			for (const threads of ["1", "2"]) {
				const out = join(dir, `${method}-${threads}`);
				const result = await runCli(["merge", join(dir, `${method}.yml`), "--out", out, "--random-seed", "5"], {
					MERGESMITH_THREADS: threads,
				});
				expect(result.code, result.stderr).toBe(0);
				outputs.push(await readFile(join(out, "model.safetensors")));
			}
			expect((outputs[1] as Buffer).equals(outputs[0] as Buffer)).toBe(true);
		});
	}
});
