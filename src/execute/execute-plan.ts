import { availableParallelism } from "node:os";
import { BufferPool, type PoolArena } from "../engine/buffer-pool.js";
import { decodeBf16, TensorReader } from "../engine/tensor-reader.js";
import { WorkerPool } from "../engine/worker-pool.js";
import type { MergedTensor, TensorObserver } from "../insight/tensor-observer.js";
import { encodeResult } from "../methods/bf16-result.js";
import { cropSubmatrix } from "../methods/kernels/crop-submatrix.js";
import { dtypeRounder } from "../methods/kernels/dtype-rounder.js";
import { roundArray } from "../methods/kernels/round-array.js";
import type { KernelStats, MergeContext, MergeInputs, MergeResult, ModelTensor } from "../methods/merge-method.js";
import type { MergePlan, PlannedInput, PlannedTensor } from "../plan/merge-plan.js";
import { DTYPE_SIZES, encodeFromF32, type FloatDtype } from "../safetensors/dtype.js";
import { elementCount } from "../safetensors/parse-header.js";
import { SafetensorsFile, type TensorFile } from "../safetensors/safetensors-file.js";
import { layoutShards } from "../safetensors/shard-layout.js";
import { ShardWriter } from "../safetensors/shard-writer.js";
import { remapEmbeddingRows } from "../tokenizer/remap-embedding-rows.js";
import { applyLoraPatch } from "./apply-lora-patch.js";
import { counterUniform } from "./counter-random.js";
import type { MergeEvent } from "./merge-events.js";
import { type RowBlock, rowBlocks } from "./row-blocks.js";
import type { TensorBackend } from "./tensor-backend.js";
import { inputBytes, tensorDoneEvents } from "./tensor-done-events.js";

export interface ExecuteOptions {
	/** Largest shard in bytes (mergekit's `--out-shard-size`). */
	maxShardBytes?: number;
	/** Sees every merged tensor's inputs and result (the merge report); what is written does not change. */
	observe?: TensorObserver;
	/** Threads that share the arithmetic of large tensors (default: MERGESMITH_THREADS, else every core). */
	threads?: number;
	/** Input files streamed from the Hub during the merge (see HubWeightStream); undefined for files on disk. */
	openStreamed?: (path: string) => TensorFile | undefined;
	/** Computes the methods it has graphs for (`--device`); the rest, and everything without it, on the CPU kernels. */
	backend?: TensorBackend;
	/** Input bytes of a block where a large tensor is merged a block of rows at a time (see rowBlocks). */
	rowBlockBytes?: number;
}

/**
 * Runs a plan tensor by tensor: reads each input tensor with positional reads, merges it in float32, casts it to
 * the output dtype and writes it into its place in the output shards. Beside the tensor computing, only the next
 * tensors' reads (PREFETCH_LIMIT) and the writes in flight (WRITE_QUEUE_LIMIT) hold memory, so memory does not grow
 * with the number of layers; large tensors go a block of rows at a time where their method allows (tensorWork), so
 * it does not grow with the embeddings either. Reads go straight into pooled buffers (no allocation after the first
 * layer) and overlap the arithmetic, as do the writes.
 */
export async function* executePlan(
	plan: MergePlan,
	outDir: string,
	options: ExecuteOptions = {},
): AsyncGenerator<MergeEvent> {
	const layout = layoutShards(plan.tensors, options.maxShardBytes);
	const writer = await ShardWriter.create(outDir, layout);
	// Promises, not files: a prefetch and a read may ask for the same file at once, and it must be opened once.
	const files = new Map<string, Promise<TensorFile>>();
	const openFile = (path: string): Promise<TensorFile> => {
		let file = files.get(path);
		if (!file) {
			const streamed = options.openStreamed?.(path);
			file = streamed ? Promise.resolve(streamed) : SafetensorsFile.open(path);
			files.set(path, file);
		}
		return file;
	};
	const threads = options.threads ?? defaultThreads();
	const workers = threads > 1 ? WorkerPool.create(threads) : undefined;
	const pool = new BufferPool(workers !== undefined);
	const reader = new TensorReader(openFile);
	let bytesRead = 0;
	// Results being written with the bytes each holds, and the first write that failed.
	const writing = new Map<Promise<void>, number>();
	let writeFailure: { error: unknown } | undefined;
	// The tensors after the current one whose reads have started (up to `ahead`), each into an arena of its own.
	const aheadArenas = new Map<number, PoolArena>();
	let ahead = 0;
	let aheadBytes = 0;
	const work = plan.tensors.flatMap((tensor) => tensorWork(plan, tensor, options));
	const largestInputs = work.reduce((largest, { tensor }) => Math.max(largest, inputBytes(tensor)), 0);
	let tensorsDone = 0;
	// The tensor being merged, its warnings gathered over its blocks, and where passes over its blocks' sums come first,
	// the totals of the passes done, end to end, and the running sums of the pass under way.
	let current: PlannedTensor | undefined;
	let warnings: string[] = [];
	let tensorSums: Float64Array | undefined;
	let passSums: Float64Array | undefined;
	let pass = 0;
	try {
		for (const [index, { tensor, whole, from, last, sumsPass }] of work.entries()) {
			if (writeFailure) {
				throw writeFailure.error;
			}
			if (whole !== current) {
				current = whole;
				warnings = [];
				tensorSums = undefined;
				passSums = undefined;
				pass = 0;
			}
			if (passSums && sumsPass !== pass) {
				// A pass over the sums ended: its totals join those of the passes before.
				tensorSums = tensorSums ? joined(tensorSums, passSums) : passSums;
				passSums = undefined;
				pass++;
			}
			const arena = aheadArenas.get(index) ?? pool.arena();
			aheadArenas.delete(index);
			if (index < ahead) {
				aheadBytes -= inputBytes(tensor);
			}
			// The tensor's reads that have not started yet start side by side, then the next tensors' while they fit.
			reader.prefetch(tensor, arena);
			ahead = Math.max(ahead, index + 1);
			for (let next = work[ahead]?.tensor; next; next = work[ahead]?.tensor) {
				const fits = readAheadFits({
					current: inputBytes(tensor),
					ahead: aheadBytes,
					next: inputBytes(next),
					nextIsFirst: ahead === index + 1,
					largest: largestInputs,
				});
				if (!fits) {
					break;
				}
				const nextArena = pool.arena();
				aheadArenas.set(ahead, nextArena);
				reader.prefetch(next, nextArena);
				aheadBytes += inputBytes(next);
				ahead++;
			}
			const rows =
				tensor === whole ? undefined : { offset: from / DTYPE_SIZES[whole.dtype], total: elementCount(whole.shape) };
			if (sumsPass !== undefined) {
				const io = { reader, arena, ...(workers ? { workers } : {}), rows, ...(tensorSums ? { tensorSums } : {}) };
				passSums = await addBlockSums(plan, tensor, openFile, (message) => addWarning(warnings, message), io, passSums);
				arena.release();
				continue;
			}
			// A result larger than the write queue waits for room before it is computed, not after: the memory of the
			// write it waits for (an embedding matrix's, say) then takes it, instead of memory touched for the first time.
			const outputBytes = tensor === whole ? writer.tensor(tensor.name).byteLength : resultBytes(tensor);
			if (outputBytes > WRITE_QUEUE_LIMIT) {
				await writesFitting(writing, outputBytes);
			}
			// The encoded output lives apart from the tensor's inputs and scratch, which are released as soon as it is
			// encoded: only the bytes being written are held while later tensors compute.
			const output = pool.arena();
			const outputPhase = writer.blockPhase(tensor.name, from);
			const io: TensorIo = {
				reader,
				arena,
				output,
				outputPhase,
				...(workers ? { workers } : {}),
				backend: options.backend,
				...(tensor === whole ? {} : { block: { first: from === 0, last }, rows }),
				...(tensorSums ? { tensorSums } : {}),
			};
			const bytes = tensor.copyRaw
				? await reader.readBytes((tensor.base ?? tensor.models[0]) as PlannedInput, output, outputPhase)
				: await mergeTensor(plan, tensor, openFile, (message) => addWarning(warnings, message), options.observe, io);
			arena.release();
			await writesFitting(writing, bytes.byteLength);
			const write = writer.write(tensor.name, bytes, from).then(() => {
				output.release();
			});
			writing.set(write, bytes.byteLength);
			// A failure is seen before the next tensor; every write is awaited before the shards are finished or given up.
			write.then(
				() => writing.delete(write),
				(error: unknown) => {
					writeFailure ??= { error };
				},
			);
			bytesRead += inputBytes(tensor);
			if (!last) {
				continue;
			}
			tensorsDone++;
			yield* tensorDoneEvents(whole, warnings, {
				done: tensorsDone,
				total: plan.tensors.length,
				bytesRead,
				bytesToRead: plan.bytesToRead,
			});
		}
		await Promise.all(writing.keys());
		yield { type: "weights-written", files: await writer.finish() };
	} catch (error) {
		await Promise.allSettled(writing.keys());
		await writer.abort();
		throw error;
	} finally {
		// Nothing may still read or write the pool's memory when it goes back: a consumer that stopped early left a
		// write or a prefetch in flight.
		await Promise.allSettled(writing.keys());
		await reader.settle();
		await workers?.close();
		pool.close();
		for (const file of files.values()) {
			await file.then(
				(opened) => opened.close(),
				() => undefined,
			);
		}
	}
}

/**
 * What the executor does for one planned tensor: merge it whole, or in blocks of rows (see rowBlocks) where the CPU
 * kernels of its method allow, after a pass over every block's sums where the method needs them (MergeMethod.blockSums).
 * A backend's graphs take tensors whole, and so do the methods that read blocks twice where an input streams from the
 * Hub, which would fetch its bytes twice.
 */
function tensorWork(plan: MergePlan, tensor: PlannedTensor, options: ExecuteOptions): RowBlock[] {
	const { method } = plan;
	const inputs = tensor.base ? [...tensor.models, tensor.base] : tensor.models;
	const streamed = inputs.some((input) => options.openStreamed?.(input.stored.file) !== undefined);
	const passes = !streamed && method.blockSums?.applies(tensor) ? (method.blockSums.passes?.(tensor) ?? 1) : 0;
	const blocks =
		(method.elementwise === true || passes > 0) &&
		!options.backend?.hasGraph(method.name) &&
		rowBlocks(tensor, { ...(options.rowBlockBytes ? { blockBytes: options.rowBlockBytes } : {}), sums: passes > 0 });
	if (!blocks) {
		return [{ tensor, whole: tensor, from: 0, last: true }];
	}
	const sumsPasses = Array.from({ length: passes }, (_, sumsPass) => blocks.map((block) => ({ ...block, sumsPass })));
	return [...sumsPasses.flat(), ...blocks];
}

/** `a` and then `b`, in one array (a pass's sums after those of the passes before: SCE's are 98,000 numbers). */
function joined(a: Float64Array, b: Float64Array): Float64Array {
	const both = new Float64Array(a.length + b.length);
	both.set(a);
	both.set(b, a.length);
	return both;
}

/** Bytes of a block's result, as the output stores it. */
function resultBytes(tensor: PlannedTensor): number {
	return elementCount(tensor.shape) * DTYPE_SIZES[tensor.dtype];
}

/** Adds a warning of a tensor's block, once: every block of the tensor may give the same one. */
function addWarning(warnings: string[], message: string): void {
	if (!warnings.includes(message)) {
		warnings.push(message);
	}
}

/**
 * Read no more than this many bytes ahead of the tensor being computed: several layer tensors of a 1 B model fit, so
 * that a large tensor's reads have a small one's arithmetic and more to hide behind, but embeddings (hundreds of MB)
 * are read when their turn comes, and nothing is read beside them, so that the peak memory stays theirs. Memory
 * touched for the first time costs far more than reading a tensor from the page cache (first-touch page faults: 0.2–0.35
 * GB/s on the bench machines), so the reads after an embedding matrix wait for its memory rather than take new memory.
 */
const PREFETCH_LIMIT = 96 * 1024 * 1024;

/**
 * Whether the reads of the `next` tensor may start now, beside the `current` tensor's and those already `ahead` (in
 * bytes of input; `nextIsFirst` where none are): up to PREFETCH_LIMIT ahead, or the next tensor alone, as long as
 * the reads held come to no more than the `largest` tensor's inputs (or PREFETCH_LIMIT, if more). The peak stays the
 * largest tensor's, and beside it nothing is read ahead.
 */
export function readAheadFits(bytes: {
	current: number;
	ahead: number;
	next: number;
	nextIsFirst: boolean;
	largest: number;
}): boolean {
	const { current, ahead, next, nextIsFirst, largest } = bytes;
	return current + ahead + next <= Math.max(largest, PREFETCH_LIMIT) && (ahead + next <= PREFETCH_LIMIT || nextIsFirst);
}

/**
 * Results may be on their way to disk up to this many bytes beside the largest one, so that the tensors after a large
 * one go on computing while it is written, instead of waiting for it. Each write starts as soon as its tensor is done,
 * side by side with the others (positional writes to their own places).
 */
const WRITE_QUEUE_LIMIT = 32 * 1024 * 1024;

/**
 * Whether a result of `bytes` may start its write beside those in flight: their bytes and its own, less the largest
 * of all, come to at most WRITE_QUEUE_LIMIT. A result larger than the limit (an embedding matrix) is thus written while
 * the small tensors after it compute, in memory its inputs gave back, where counting it would have stopped them until
 * it was on disk (about 50 ms after each); two such results are never in flight at once.
 */
function writeFits(writing: ReadonlyMap<Promise<void>, number>, bytes: number): boolean {
	let total = bytes;
	let largest = bytes;
	for (const held of writing.values()) {
		total += held;
		largest = Math.max(largest, held);
	}
	return total - largest <= WRITE_QUEUE_LIMIT;
}

/** Waits for the oldest writes first, until a result of `bytes` fits (a map iterates in insertion order). */
async function writesFitting(writing: ReadonlyMap<Promise<void>, number>, bytes: number): Promise<void> {
	for (const earlier of writing.keys()) {
		if (writeFits(writing, bytes)) {
			return;
		}
		await earlier;
	}
}

/** Worker threads a merge uses: `MERGESMITH_THREADS`, else one a core. */
export function defaultThreads(): number {
	const fromEnv = Number(process.env.MERGESMITH_THREADS);
	return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism();
}

/** Where a tensor's reads and working memory come from in the executor; absent, plain reads and allocations. */
export interface TensorIo {
	reader: TensorReader;
	/** Inputs and scratch of the tensor. */
	arena: PoolArena;
	/** The encoded result, held until it has been written. */
	output: PoolArena;
	/** Where the encoded result starts within a memory block, for the writer to send it straight to disk. */
	outputPhase?: number | undefined;
	/** The encoded result's bfloat16 bits, for a method to write directly (see MergeContext.bf16Output). */
	bf16Output?: Uint16Array | undefined;
	workers?: WorkerPool;
	backend?: TensorBackend | undefined;
	/** Which block of its tensor this is, where the tensor is merged in blocks of rows. */
	block?: MergedTensor["block"];
	/** The whole tensor's sums, where a pass over its blocks came first (see MergeMethod.blockSums). */
	tensorSums?: Float64Array;
	/** Where the block's elements lie in the whole tensor (see MergeContext.rows). */
	rows?: MergeContext["rows"];
}

async function mergeTensor(
	plan: MergePlan,
	tensor: PlannedTensor,
	openFile: (path: string) => Promise<TensorFile>,
	warn: (message: string) => void,
	observe: TensorObserver | undefined,
	io: TensorIo,
): Promise<Uint8Array> {
	const length = tensor.shape.reduce((a, b) => a * b, 1);
	const output = (): Uint8Array => io.output.bytes(length * (tensor.dtype === "F32" ? 4 : 2), io.outputPhase);
	if (tensor.dtype === "BF16") {
		// Taken before the merge, which writes the bfloat16 result there (see mergeTensorValues).
		const out = output();
		const bf16Output = new Uint16Array(out.buffer, out.byteOffset, length);
		await mergeTensorValues(plan, tensor, openFile, warn, observe, { ...io, bf16Output });
		return out;
	}
	// Other dtypes are encoded afterwards: their output is not held while the tensor merges.
	const result = await mergeTensorValues(plan, tensor, openFile, warn, observe, io);
	const out = output();
	encodeFromF32(result.data, tensor.dtype as FloatDtype, out);
	return out;
}

/**
 * Reads one planned tensor's inputs and merges them, before the cast to the output dtype (which a method may have
 * written already, into io.bf16Output); shared by the merge and by `explain --measure`, which discards the values.
 */
export async function mergeTensorValues(
	plan: MergePlan,
	tensor: PlannedTensor,
	openFile: (path: string) => Promise<TensorFile>,
	warn: (message: string) => void,
	observe?: TensorObserver,
	io?: TensorIo,
): Promise<MergeResult> {
	return mergeInputs(plan, tensor, await loadInputs(tensor, openFile, io), warn, observe, io);
}

/** Merges one planned tensor's inputs, read by loadInputs (see mergeTensorValues). */
export async function mergeInputs(
	plan: MergePlan,
	tensor: PlannedTensor,
	{ models, base }: MergeInputs,
	warn: (message: string) => void,
	observe?: TensorObserver,
	io?: TensorIo,
): Promise<MergeResult> {
	const kernelStats: KernelStats[] = [];
	const context: MergeContext = {
		...tensorContext(plan, tensor, warn, io),
		...(observe ? { record: (stats: KernelStats) => kernelStats.push(stats) } : {}),
		...(io?.bf16Output ? { bf16Output: io.bf16Output } : {}),
	};
	const result = io?.backend?.hasGraph(plan.method.name)
		? await io.backend.merge(plan.method, { models, base }, context)
		: plan.method.merge({ models, base }, context);
	if (!result) {
		// The planner leaves out tensors a method would drop, so that the shard layout is final before writing.
		throw new Error(`${plan.method.name} produced no value for ${tensor.name}, which the plan did not foresee`);
	}
	const length = (result.bf16 ?? result.data).length;
	if (length !== tensor.shape.reduce((a, b) => a * b, 1)) {
		throw new Error(
			`${plan.method.name} returned ${length} values for ${tensor.name}, expected shape ${JSON.stringify(tensor.shape)}`,
		);
	}
	// A tensor stored in bfloat16 is cast here when the method did not write it so: the report then measures the
	// values as written, whichever way they were written.
	const written =
		context.bf16Output && result.bf16 !== context.bf16Output
			? encodeResult(result, context.bf16Output, context)
			: result;
	observe?.({
		tensor,
		inputs: { models, base },
		result: written,
		kernelStats,
		...(context.parallel ? { parallel: context.parallel } : {}),
		...(io?.block ? { block: io.block } : {}),
	});
	return written;
}

/** The merge context of a tensor's merge or of its block's sums, with the executor's memory and threads where given. */
function tensorContext(
	plan: MergePlan,
	tensor: PlannedTensor,
	warn: (message: string) => void,
	io: Pick<TensorIo, "arena" | "workers" | "rows" | "tensorSums"> | undefined,
): MergeContext {
	return {
		tensorName: tensor.name,
		isEmbed: tensor.isEmbed,
		params: tensor.params,
		uniform: (model) => counterUniform(plan.seed, tensor.name, model),
		warn,
		...(tensor.computeDtype === undefined ? {} : { computeDtype: tensor.computeDtype }),
		...(io ? { alloc: io.arena } : {}),
		...(io?.workers ? { parallel: io.workers.run.bind(io.workers) } : {}),
		...(io?.rows ? { rows: io.rows } : {}),
		...(io?.tensorSums ? { tensorSums: io.tensorSums } : {}),
	};
}

/** Reads a block of rows and adds its sums to those of the blocks before it (see MergeMethod.blockSums). */
async function addBlockSums(
	plan: MergePlan,
	tensor: PlannedTensor,
	openFile: (path: string) => Promise<TensorFile>,
	warn: (message: string) => void,
	io: Pick<TensorIo, "reader" | "arena" | "workers" | "rows" | "tensorSums">,
	running: Float64Array | undefined,
): Promise<Float64Array> {
	const sums = plan.method.blockSums;
	if (!sums) {
		throw new Error(`${plan.method.name} has no sums to add over blocks of rows (${tensor.name})`);
	}
	const inputs = await loadInputs(tensor, openFile, io);
	return sums.add(inputs, tensorContext(plan, tensor, warn, io), running);
}

/**
 * A planned tensor's inputs, read into io's arena (plain reads and allocations without it): remapped onto the output
 * vocabulary, patched by their adapters, rounded to the merge's dtype and cropped to the output's shape as the plan
 * says; bfloat16 inputs stay as stored where kernels can read them so.
 */
export async function loadInputs(
	tensor: PlannedTensor,
	openFile: (path: string) => Promise<TensorFile>,
	io: Pick<TensorIo, "reader" | "arena" | "workers"> | undefined,
): Promise<MergeInputs> {
	const read = async (input: PlannedInput): Promise<Float32Array> => {
		const file = await openFile(input.stored.file);
		const data = io
			? await io.reader.readFloat32(input, io.arena, io.workers)
			: await file.readFloat32(input.stored.name);
		if (input.lora) {
			await applyLoraPatch(data, input.stored, input.lora, openFile);
		}
		// mergekit casts every input to the recipe's dtype as it loads it; a float32 checkpoint in a bfloat16 merge is rounded first.
		const round = input.stored.dtype === tensor.computeDtype ? undefined : dtypeRounder(tensor.computeDtype);
		if (round) {
			roundArray(data, tensor.computeDtype);
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
		const same = input.stored.shape.every((dim, d) => dim === tensor.shape[d]);
		if (io && same && !input.lora && input.stored.dtype === "BF16" && tensor.computeDtype !== "F16") {
			// As stored: kernels that decode as they go read `bf16`. The first reader of `data` decodes it; from then on
			// the tensor has only float32 values (`bf16` is dropped, its buffer reused), so later kernels read those.
			const halves = await io.reader.readBf16(input, io.arena);
			let decoded: Float32Array | undefined;
			const stored: ModelTensor = {
				model: input.model,
				bf16: halves,
				get data(): Float32Array {
					if (decoded === undefined) {
						decoded = decodeBf16(halves, io.arena, io.workers);
						delete stored.bf16;
						io.arena.free(halves);
					}
					return decoded;
				},
				shape: input.stored.shape,
				params: input.params,
			};
			return stored;
		}
		const data = await read(input);
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
	return { models, base };
}
