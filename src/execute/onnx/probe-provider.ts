import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Onnxruntime } from "./load-onnxruntime.js";
import { cudaInstallCommand, onnxruntimePaths } from "./onnxruntime-paths.js";
import { probeExecutionProvider } from "./probe-child.js";

/** Whether an execution provider can run here: usable, or why not (short, for the `auto` line) and what to do. */
export type ProbeResult = { usable: true } | { usable: false; reason: string; fix: string };

/**
 * Checks that the CUDA provider can run: the platform has a CUDA build, its provider libraries are installed (they are
 * not in the npm package), and a one-node graph runs on it.
 */
export async function probeCuda(): Promise<ProbeResult> {
	const platform = `${process.platform}/${process.arch}`;
	if (platform !== "linux/x64" && platform !== "win32/x64") {
		return {
			usable: false,
			reason: `onnxruntime-node has no CUDA build for ${platform}`,
			fix: "CUDA needs Linux or Windows on x64; use --device cpu",
		};
	}
	const { binDir } = onnxruntimePaths();
	const library = process.platform === "win32" ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";
	if (!existsSync(join(binDir, library))) {
		return {
			usable: false,
			reason: "CUDA provider libraries not installed",
			fix: `install them once with \`${cudaInstallCommand()}\` (it downloads them from api.nuget.org; the machine needs an NVIDIA driver, CUDA 12 and cuDNN 9), or use --device cpu`,
		};
	}
	return runProbe(
		"cuda",
		"check the NVIDIA driver (nvidia-smi) and that CUDA 12 and cuDNN 9 libraries are on the library path, or use --device cpu",
	);
}

/**
 * Checks that the WebGPU provider finds an adapter. On Linux it needs the Vulkan loader; without it the answer is given
 * without starting onnxruntime's Dawn library at all.
 */
export async function probeWebgpu(ort: Onnxruntime): Promise<ProbeResult> {
	if (!ort.listSupportedBackends().some((backend) => backend.name === "webgpu")) {
		return {
			usable: false,
			reason: `onnxruntime-node has no WebGPU build for ${process.platform}/${process.arch}`,
			fix: "use --device cpu",
		};
	}
	if (process.platform === "linux" && !hasVulkanLoader()) {
		return {
			usable: false,
			reason: "no WebGPU adapter (no Vulkan loader, libvulkan.so.1)",
			fix: "install the Vulkan loader and your GPU's Vulkan driver (Debian: apt-get install libvulkan1), or use --device cpu",
		};
	}
	return runProbe("webgpu", "check that a GPU with a Vulkan, Metal or D3D12 driver is present, or use --device cpu");
}

const CHILD = new URL("./probe-child.js", import.meta.url);

/** How long a provider may take to find its device and run the test graph. */
const PROBE_TIMEOUT_MS = 120_000;

/**
 * Runs the test graph on `provider` in a child process (probe-child.ts), whose stderr is dropped: what native
 * libraries print while they look for a device is noise here, and the reason for a failure comes back in words.
 * From sources (under the test runner) there is no compiled child, and the probe runs in this process.
 */
async function runProbe(provider: "cuda" | "webgpu", fix: string): Promise<ProbeResult> {
	let outcome: { ok: true } | { error: string };
	if (existsSync(fileURLToPath(CHILD))) {
		const child = spawnSync(process.execPath, [fileURLToPath(CHILD), provider], {
			encoding: "utf8",
			timeout: PROBE_TIMEOUT_MS,
			stdio: ["ignore", "pipe", "pipe"],
		});
		const line = child.stdout?.split("\n").find((candidate) => candidate.startsWith("{"));
		outcome = line
			? (JSON.parse(line) as { ok: true } | { error: string })
			: {
					error: child.signal
						? `it crashed while starting (${child.signal})`
						: `it stopped while starting (exit code ${String(child.status)})`,
				};
	} else {
		outcome = await probeExecutionProvider(provider);
	}
	if ("ok" in outcome) {
		return { usable: true };
	}
	const reason = /adapter/i.test(outcome.error)
		? "no WebGPU adapter"
		: `the ${provider} provider failed to start: ${firstLine(outcome.error)}`;
	return { usable: false, reason, fix };
}

function firstLine(text: string): string {
	const line = text.split("\n").find((candidate) => candidate.trim() !== "") ?? text;
	return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** Whether the dynamic linker can find libvulkan.so.1 in the usual places (and LD_LIBRARY_PATH). */
function hasVulkanLoader(): boolean {
	const dirs = [
		...(process.env.LD_LIBRARY_PATH ?? "").split(delimiter).filter(Boolean),
		"/usr/lib/x86_64-linux-gnu",
		"/usr/lib/aarch64-linux-gnu",
		"/lib/x86_64-linux-gnu",
		"/lib/aarch64-linux-gnu",
		"/usr/lib64",
		"/usr/lib",
		"/usr/local/lib",
	];
	return dirs.some((dir) => existsSync(join(dir, "libvulkan.so.1")));
}
