import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onnxruntimePaths } from "../../../src/execute/onnx/onnxruntime-paths.js";
import { makeTinyModel } from "../../../src/fixtures/make-tiny-model.js";
import { runCli } from "../../helpers/run-cli.js";

let dir: string;
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-device-"));
	const common = { family: "llama", layers: 2, seed: 7, dtype: "BF16" } as const;
	await makeTinyModel(join(dir, "base"), common);
	await makeTinyModel(join(dir, "a"), { ...common, drift: { seed: 1, scale: 0.05 } });
	await makeTinyModel(join(dir, "b"), { ...common, drift: { seed: 2, scale: 0.05 } });
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

/** Whether this machine has onnxruntime's CUDA provider libraries (CI does not): some answers depend on it. */
const cudaInstalled = existsSync(join(onnxruntimePaths().binDir, "libonnxruntime_providers_cuda.so"));

async function recipe(name: string, method: string, extra = ""): Promise<string> {
	const path = join(dir, `${name}.yml`);
	await writeFile(
		path,
		`merge_method: ${method}
base_model: ${join(dir, "base")}
models:
  - model: ${join(dir, "a")}
    parameters: {weight: 0.6, density: 0.4${extra}}
  - model: ${join(dir, "b")}
    parameters: {weight: [0.2, 0.5], density: 0.7${extra}}
`,
	);
	return path;
}

async function merge(file: string, out: string, device?: string) {
	await mkdir(dir, { recursive: true });
	return runCli([
		"merge",
		file,
		"--out",
		join(dir, out),
		"--random-seed",
		"11",
		...(device ? ["--device", device] : []),
	]);
}

describe("--device", () => {
	it.each([
		["dare_ties", ""],
		["della_linear", ", epsilon: 0.2"],
	])("gives bit-identical %s weights with density < 1 on cpu and onnx-cpu", async (method, extra) => {
		const file = await recipe(method, method, extra);
		const cpu = await merge(file, `${method}-cpu`);
		const onnx = await merge(file, `${method}-onnx`, "onnx-cpu");
		expect(cpu.code, cpu.stderr).toBe(0);
		expect(onnx.code, onnx.stderr).toBe(0);
		expect(onnx.stdout).toMatch(/^device: onnx-cpu \(onnxruntime 1\.30\.0, CPU execution provider\)$/m);
		const weights = (out: string) => readFile(join(dir, out, "model.safetensors"));
		expect(Buffer.compare(await weights(`${method}-cpu`), await weights(`${method}-onnx`))).toBe(0);
		expect(await readFile(join(dir, `${method}-onnx`, "README.md"), "utf8")).toContain(
			"Computed on: onnx-cpu (onnxruntime 1.30.0, CPU execution provider)",
		);
		expect(await readFile(join(dir, `${method}-cpu`, "README.md"), "utf8")).toContain(
			"Computed on: cpu (mergesmith's CPU kernels)",
		);
	});

	it.skipIf(cudaInstalled)(
		"cuda without the provider libraries is an error that gives the install command",
		async () => {
			const result = await merge(await recipe("cuda", "ties"), "cuda", "cuda");
			expect(result.code).toBe(2);
			expect(result.stderr).toContain("--device cuda: CUDA provider libraries not installed");
			expect(result.stderr).toContain(`${onnxruntimePaths().installScript} --onnxruntime-node-install=cuda12`);
			expect(existsSync(join(dir, "cuda"))).toBe(false);
		},
	);

	it.skipIf(cudaInstalled)("auto says which device it took and why", async () => {
		const result = await merge(await recipe("auto", "ties"), "auto", "auto");
		expect(result.code, result.stderr).toBe(0);
		expect(result.stdout.split("\n")[0]).toMatch(
			/^device: (cpu \(auto: CUDA provider libraries not installed; .*\)|webgpu .*\(auto\))$/,
		);
	});

	it("auto runs a method without a graph on the CPU kernels, and says so", async () => {
		const result = await merge(await recipe("auto-multislerp", "multislerp"), "auto-multislerp", "auto");
		expect(result.code, result.stderr).toBe(0);
		expect(result.stdout.split("\n")[0]).toBe("device: cpu (auto: multislerp has no ONNX graph)");
	});

	it("an ONNX device refuses a method without a graph, naming it", async () => {
		const result = await merge(await recipe("onnx-multislerp", "multislerp"), "onnx-multislerp", "onnx-cpu");
		expect(result.code).toBe(2);
		expect(result.stderr).toMatch(/--device onnx-cpu: multislerp has no ONNX graph .*use --device cpu/);
	});

	it("refuses an unknown device", async () => {
		const result = await merge(await recipe("bogus", "ties"), "bogus", "tpu");
		expect(result.code).toBe(2);
		expect(result.stderr).toContain("--device takes auto, cpu, cuda, webgpu, onnx-cpu; got tpu");
	});
});
