import { describe, expect, it } from "vitest";
import { isHubRepoId } from "../../src/models/is-hub-repo-id.js";
import { loadModel } from "../../src/models/load-model.js";
import type { ModelReference } from "../../src/recipe/recipe.js";

const reference = (path: string): ModelReference => ({
	model: { path, revision: undefined },
	lora: undefined,
	overrideArchitecture: undefined,
	key: path,
	span: { line: 3, column: 12 },
});

describe("Hub-only model lookup (the bot)", () => {
	it("tells Hub repo ids from paths", () => {
		for (const id of ["meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B-Instruct", "a/b"]) {
			expect(isHubRepoId(id), id).toBe(true);
		}
		for (const path of ["./model", "../secrets/x", "/etc/passwd", "a/../b", ".hidden/x", "a/b/c", "model"]) {
			expect(isHubRepoId(path), path).toBe(false);
		}
	});

	it("never opens a local folder, even one that exists, when only Hub models are allowed", async () => {
		await expect(loadModel(reference("./test"), { hubOnly: true, offline: true })).rejects.toThrow(
			/line 3: model \.\/test: is not a Hub repo id/,
		);
		// `test/fixtures` exists in this checkout; hubOnly must look it up on the Hub (here: the offline cache), not on disk.
		await expect(
			loadModel(reference("test/fixtures"), { hubOnly: true, offline: true, cacheDir: "/nonexistent-cache" }),
		).rejects.toThrow(/not found locally or in the Hugging Face cache/);
	});
});
