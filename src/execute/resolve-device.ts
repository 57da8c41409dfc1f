import { DeviceError } from "./device-error.js";
import { loadOnnxruntime, type Onnxruntime } from "./onnx/load-onnxruntime.js";
import { METHOD_GRAPHS } from "./onnx/method-graphs.js";
import { type OnnxDevice, OnnxTensorBackend } from "./onnx/onnx-tensor-backend.js";
import { type ProbeResult, probeCuda, probeWebgpu } from "./onnx/probe-provider.js";
import { CPU_LABEL, type TensorBackend } from "./tensor-backend.js";

/** `--device` values: `cpu` is mergesmith's own kernels; the others go through onnxruntime-node. */
export const DEVICES = ["auto", "cpu", "cuda", "webgpu", "onnx-cpu"] as const;

export type Device = (typeof DEVICES)[number];

export function isDevice(value: string): value is Device {
	return (DEVICES as readonly string[]).includes(value);
}

export interface DeviceChoice {
	/** Computes the methods it has graphs for; undefined: everything on the CPU kernels. */
	backend: TensorBackend | undefined;
	/** One line for the CLI: the device used, and why (under `auto`), and which methods stay on the CPU kernels. */
	line: string;
}

/** Methods (registry names) the ONNX backend has graphs for, in a stable order for messages. */
export function methodsWithGraphs(): string[] {
	return Object.keys(METHOD_GRAPHS).sort();
}

/**
 * Picks where a merge's arithmetic runs. An explicit device is used or refused (DeviceError, naming the device or the
 * methods and what to do), never replaced by another; `auto` tries CUDA, then WebGPU, then the CPU kernels, and its
 * line says why it took what it took. `methods` are the recipe's methods (every stage's): on an explicit ONNX device
 * each needs a graph; under `auto` one without a graph runs on the CPU kernels, and the line says so.
 */
export async function resolveDevice(requested: Device, methods: readonly string[]): Promise<DeviceChoice> {
	if (requested === "cpu") {
		return { backend: undefined, line: `device: ${CPU_LABEL}` };
	}
	const missing = [...new Set(methods)].filter((method) => !Object.hasOwn(METHOD_GRAPHS, method));
	if (requested === "auto") {
		return resolveAuto(missing, methods);
	}
	if (missing.length > 0) {
		throw new DeviceError(
			`--device ${requested}: ${listing(missing)} ${missing.length === 1 ? "has" : "have"} no ONNX graph (graphs exist for ${methodsWithGraphs().join(", ")}); use --device cpu, or --device auto to run ${missing.length === 1 ? "it" : "them"} on the CPU kernels`,
		);
	}
	const ort = load(requested);
	const probe = await probeFor(requested, ort);
	if (!probe.usable) {
		throw new DeviceError(`--device ${requested}: ${probe.reason}; ${probe.fix}`);
	}
	const backend = new OnnxTensorBackend(ort, requested);
	return { backend, line: `device: ${backend.label}` };
}

async function resolveAuto(missing: readonly string[], methods: readonly string[]): Promise<DeviceChoice> {
	const reasons: string[] = [];
	let ort: Onnxruntime | undefined;
	try {
		ort = loadOnnxruntime();
	} catch (error) {
		reasons.push((error as Error).message.split(";")[0] as string);
	}
	const anyGraph = methods.some((method) => !missing.includes(method));
	if (ort && anyGraph) {
		for (const device of ["cuda", "webgpu"] as const) {
			const probe = await probeFor(device, ort);
			if (probe.usable) {
				const backend = new OnnxTensorBackend(ort, device);
				const onCpu =
					missing.length > 0
						? `; ${listing(missing)} ${missing.length === 1 ? "has" : "have"} no graph and run${missing.length === 1 ? "s" : ""} on the CPU kernels`
						: "";
				return { backend, line: `device: ${backend.label} (auto)${onCpu}` };
			}
			reasons.push(probe.reason);
		}
	} else if (ort) {
		reasons.push(`${listing(missing)} ${missing.length === 1 ? "has" : "have"} no ONNX graph`);
	}
	return { backend: undefined, line: `device: cpu (auto: ${reasons.join("; ")})` };
}

function load(device: Device): Onnxruntime {
	try {
		return loadOnnxruntime();
	} catch (error) {
		throw new DeviceError(`--device ${device}: ${(error as Error).message}`);
	}
}

function probeFor(device: OnnxDevice, ort: Onnxruntime): Promise<ProbeResult> {
	switch (device) {
		case "cuda":
			return probeCuda();
		case "webgpu":
			return probeWebgpu(ort);
		default:
			return Promise.resolve({ usable: true });
	}
}

function listing(methods: readonly string[]): string {
	return methods.join(", ");
}
