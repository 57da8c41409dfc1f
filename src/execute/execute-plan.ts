import type { TensorObserver } from "../insight/tensor-observer.js";
import { cropSubmatrix } from "../methods/kernels/crop-submatrix.js";
import { dtypeRounder } from "../methods/kernels/dtype-rounder.js";
import type { KernelStats, MergeContext, ModelTensor } from "../methods/merge-method.js";
import type { MergePlan, PlannedInput, PlannedTensor } from "../plan/merge-plan.js";
import { encodeFromF32, type FloatDtype } from "../safetensors/dtype.js";
import { SafetensorsFile } from "../safetensors/safetensors-file.js";
import { layoutShards } from "../safetensors/shard-layout.js";
import { ShardWriter } from "../safetensors/shard-writer.js";
import { remapEmbeddingRows } from "../tokenizer/remap-embedding-rows.js";
import { applyLoraPatch } from "./apply-lora-patch.js";
import { counterUniform } from "./counter-random.js";
import type { MergeEvent } from "./merge-events.js";

export interface ExecuteOptions {
	/** Largest shard in bytes (mergekit's `--out-shard-size`). */
	maxShardBytes?: number;
	/** Sees every merged tensor's inputs and result (the merge report); what is written does not change. */
	observe?: TensorObserver;
}

/**
 * Runs a plan tensor by tensor: reads each input tensor with positional reads, merges it in float32, casts it to
 * the output dtype and writes it into its place in the output shards. Only one tensor's inputs are in memory at a
 * time, so memory does not grow with the number of layers.
 */
export async function* executePlan(
	plan: MergePlan,
	outDir: string,
	options: ExecuteOptions = {},
): AsyncGenerator<MergeEvent> {
	const layout = layoutShards(plan.tensors, options.maxShardBytes);
	const writer = await ShardWriter.create(outDir, layout);
	const files = new Map<string, SafetensorsFile>();
	const openFile = async (path: string): Promise<SafetensorsFile> => {
		let file = files.get(path);
		if (!file) {
			file = await SafetensorsFile.open(path);
			files.set(path, file);
		}
		return file;
	};
	let bytesRead = 0;
	try {
		for (const [index, tensor] of plan.tensors.entries()) {
			const warnings: string[] = [];
			const bytes = tensor.copyRaw
				? await copyTensor(tensor, openFile)
				: await mergeTensor(plan, tensor, openFile, (message) => warnings.push(message), options.observe);
			await writer.write(tensor.name, bytes);
			for (const message of warnings) {
				yield { type: "warning", diagnostic: { severity: "warning", message: `${tensor.name}: ${message}` } };
			}
			bytesRead += [tensor.base, ...tensor.models].reduce((sum, input) => sum + (input?.stored.byteLength ?? 0), 0);
			yield {
				type: "tensor",
				done: index + 1,
				total: plan.tensors.length,
				name: tensor.name,
				bytesRead,
				bytesToRead: plan.bytesToRead,
			};
		}
		yield { type: "weights-written", files: await writer.finish() };
	} catch (error) {
		await writer.abort();
		throw error;
	} finally {
		for (const file of files.values()) {
			await file.close();
		}
	}
}

async function copyTensor(
	tensor: PlannedTensor,
	openFile: (path: string) => Promise<SafetensorsFile>,
): Promise<Uint8Array> {
	const input = (tensor.base ?? tensor.models[0]) as PlannedInput;
	const file = await openFile(input.stored.file);
	return file.readBytes(input.stored.name);
}

async function mergeTensor(
	plan: MergePlan,
	tensor: PlannedTensor,
	openFile: (path: string) => Promise<SafetensorsFile>,
	warn: (message: string) => void,
	observe: TensorObserver | undefined,
): Promise<Uint8Array> {
	const data = await mergeTensorValues(plan, tensor, openFile, warn, observe);
	const out = new Uint8Array(data.length * (tensor.dtype === "F32" ? 4 : 2));
	encodeFromF32(data, tensor.dtype as FloatDtype, out);
	return out;
}

/**
 * Reads one planned tensor's inputs and merges them in float32, before the cast to the output dtype; shared by the
 * merge and by `explain --measure`, which discards the values.
 */
export async function mergeTensorValues(
	plan: MergePlan,
	tensor: PlannedTensor,
	openFile: (path: string) => Promise<SafetensorsFile>,
	warn: (message: string) => void,
	observe?: TensorObserver,
): Promise<Float32Array> {
	const read = async (input: PlannedInput): Promise<Float32Array> => {
		const file = await openFile(input.stored.file);
		const data = await file.readFloat32(input.stored.name);
		if (input.lora) {
			await applyLoraPatch(data, input.stored, input.lora, openFile);
		}
		// mergekit casts every input to the recipe's dtype as it loads it; a float32 checkpoint in a bfloat16 merge is rounded first.
		const round = input.stored.dtype === tensor.computeDtype ? undefined : dtypeRounder(tensor.computeDtype);
		if (round) {
			for (let i = 0; i < data.length; i++) {
				data[i] = round(data[i] as number);
			}
		}
		return data;
	};
	let remapped: Map<string, Float32Array> | undefined;
	if (tensor.embeddings) {
		// Onto the output vocabulary first, all inputs at once: a model lacking a token takes another's row (spec §4.3).
		const raw = new Map<string, { data: Float32Array; shape: readonly number[] }>();
		for (const input of tensor.base ? [tensor.base, ...tensor.models] : tensor.models) {
			raw.set(input.model, { data: await read(input), shape: input.stored.shape });
		}
		remapped = remapEmbeddingRows(tensor.embeddings, raw, dtypeRounder(tensor.computeDtype));
	}
	const load = async (input: PlannedInput): Promise<ModelTensor> => {
		const own = remapped?.get(input.model);
		if (own) {
			return { model: input.model, data: own, shape: tensor.shape, params: input.params };
		}
		const data = await read(input);
		const same = input.stored.shape.every((dim, d) => dim === tensor.shape[d]);
		// The plan's shape policy decided the output shape; embeddings of a larger vocabulary are cut to it here.
		const cropped = same
			? { data, shape: input.stored.shape }
			: cropSubmatrix(data, input.stored.shape, tensor.shape[0] ?? 0, tensor.shape[1] ?? 0);
		return { model: input.model, data: cropped.data, shape: cropped.shape, params: input.params };
	};
	const models: ModelTensor[] = [];
	for (const input of tensor.models) {
		models.push(await load(input));
	}
	const base = tensor.base ? await load(tensor.base) : undefined;
	const kernelStats: KernelStats[] = [];
	const context: MergeContext = {
		tensorName: tensor.name,
		isEmbed: tensor.isEmbed,
		params: tensor.params,
		uniform: (model) => counterUniform(plan.seed, tensor.name, model),
		warn,
		...(tensor.computeDtype === undefined ? {} : { computeDtype: tensor.computeDtype }),
		...(observe ? { record: (stats: KernelStats) => kernelStats.push(stats) } : {}),
	};
	const result = plan.method.merge({ models, base }, context);
	if (!result) {
		// The planner leaves out tensors a method would drop, so that the shard layout is final before writing.
		throw new Error(`${plan.method.name} produced no value for ${tensor.name}, which the plan did not foresee`);
	}
	if (result.data.length !== tensor.shape.reduce((a, b) => a * b, 1)) {
		throw new Error(
			`${plan.method.name} returned ${result.data.length} values for ${tensor.name}, expected shape ${JSON.stringify(tensor.shape)}`,
		);
	}
	observe?.({ tensor, inputs: { models, base }, result, kernelStats });
	return result.data;
}
