import { RANGE_KERNELS } from "../methods/kernels/range-kernels.js";
import type { PlannedInput, PlannedTensor } from "../plan/merge-plan.js";
import { DTYPE_SIZES, decodeToF32, isFloatDtype } from "../safetensors/dtype.js";
import { elementCount } from "../safetensors/parse-header.js";
import { SafetensorsError } from "../safetensors/safetensors-error.js";
import type { TensorFile } from "../safetensors/safetensors-file.js";
import type { PoolArena } from "./buffer-pool.js";
import type { WorkerPool } from "./worker-pool.js";

interface Pending {
	bytes: Promise<Uint8Array>;
}

/**
 * Reads input tensors with positional reads straight into pooled buffers, and starts later tensors' reads while the
 * current one computes (the reads run on libuv's threads, so they overlap the arithmetic).
 */
export class TensorReader {
	readonly #openFile: (path: string) => Promise<TensorFile>;
	readonly #pending = new Map<string, Pending>();

	constructor(openFile: (path: string) => Promise<TensorFile>) {
		this.#openFile = openFile;
	}

	/**
	 * Starts reading the raw bytes of a tensor's plain inputs into `arena`, all at once (LoRA and remapped inputs are
	 * read later), unless they come to more than `limit` bytes. Reads already started are left as they are.
	 */
	prefetch(tensor: PlannedTensor, arena: PoolArena, limit = Number.POSITIVE_INFINITY): void {
		if (tensor.copyRaw || tensor.embeddings) {
			return;
		}
		const inputs = tensor.base ? [...tensor.models, tensor.base] : tensor.models;
		const total = inputs.reduce((sum, input) => sum + input.stored.byteLength, 0);
		if (total > limit) {
			return;
		}
		for (const input of inputs) {
			const key = keyOf(input);
			if (!input.lora && !this.#pending.has(key)) {
				const bytes = this.#readBytes(input, arena);
				// A failed prefetch is reported when the tensor is read, not as an unhandled rejection now.
				bytes.catch(() => undefined);
				this.#pending.set(key, { bytes });
			}
		}
	}

	#readBytes(input: PlannedInput, arena: PoolArena, phase?: number): Promise<Uint8Array> {
		const { name, byteLength, dtype } = input.stored;
		const range = input.rowsFrom === undefined ? undefined : { from: input.rowsFrom, length: byteLength };
		return this.#openFile(input.stored.file).then((file) => {
			// Mapped from the file where it can be (see MappedReads), unless the bytes must start at `phase` to be
			// written out as they are.
			const place = phase === undefined ? file.placeOf?.(name, range) : undefined;
			const mapped = place && arena.mapped(place, DTYPE_SIZES[dtype]);
			return mapped ?? file.readBytes(name, arena.bytes(byteLength, phase), range);
		});
	}

	/**
	 * An input's raw bytes: the prefetched ones where they were started, else read now into `arena` (at `phase`
	 * within a memory block, for bytes that are written out as they are; see PoolArena.bytes).
	 */
	async readBytes(input: PlannedInput, arena: PoolArena, phase?: number): Promise<Uint8Array> {
		const key = keyOf(input);
		const pending = this.#pending.get(key);
		if (pending) {
			this.#pending.delete(key);
			return pending.bytes;
		}
		return this.#readBytes(input, arena, phase);
	}

	/** An input as float32 values in `arena`; bfloat16 is decoded across the worker threads where there are any. */
	async readFloat32(input: PlannedInput, arena: PoolArena, workers?: WorkerPool): Promise<Float32Array> {
		const { stored } = input;
		if (!isFloatDtype(stored.dtype)) {
			throw new SafetensorsError(
				stored.file,
				`dtype ${stored.dtype} cannot take part in merge arithmetic (only F32, F16 and BF16 can)`,
				stored.name,
			);
		}
		const bytes = await this.readBytes(input, arena);
		const count = elementCount(stored.shape);
		if (stored.dtype === "BF16") {
			const out = decodeBf16(new Uint16Array(bytes.buffer, bytes.byteOffset, count), arena, workers);
			arena.free(bytes);
			return out;
		}
		const out = arena.f32Uninitialised(count);
		decodeToF32(bytes, stored.dtype, out);
		arena.free(bytes);
		return out;
	}

	/** A bfloat16 input's bit patterns as stored, for kernels that decode as they compute. */
	async readBf16(input: PlannedInput, arena: PoolArena): Promise<Uint16Array> {
		const bytes = await this.readBytes(input, arena);
		return new Uint16Array(bytes.buffer, bytes.byteOffset, elementCount(input.stored.shape));
	}

	/** Waits for reads nobody asked for (a tensor that failed), so no read outlives its file. */
	async settle(): Promise<void> {
		await Promise.allSettled([...this.#pending.values()].map((pending) => pending.bytes));
		this.#pending.clear();
	}
}

function keyOf(input: PlannedInput): string {
	return `${input.stored.file}\u0000${input.stored.name}\u0000${input.rowsFrom ?? ""}`;
}

/** bfloat16 bit patterns to float32 values in `arena`, across the worker threads where there are any. */
export function decodeBf16(halves: Uint16Array, arena: PoolArena, workers?: WorkerPool): Float32Array {
	const out = arena.f32Uninitialised(halves.length);
	const args = { arrays: [halves, out], numbers: [] };
	if (workers) {
		workers.run("decode-bf16", args, halves.length, 0);
	} else {
		RANGE_KERNELS["decode-bf16"](args, 0, halves.length, new Float64Array(0));
	}
	return out;
}
