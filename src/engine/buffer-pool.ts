import type { ScratchAllocator } from "../methods/kernels/scratch.js";

type Backing = ArrayBuffer | SharedArrayBuffer;

/**
 * Memory reused from tensor to tensor. On these machines writing into freshly allocated memory costs about a hundred
 * times more than into memory already touched (first-touch page faults), so after the first layer a merge allocates
 * nothing: every tensor's reads, scratch and output come out of buffers that earlier tensors released. Buffers are
 * SharedArrayBuffers when worker threads share the work.
 */
export class BufferPool {
	readonly shared: boolean;
	readonly #free: Backing[] = [];
	#allocated = 0;

	constructor(shared: boolean) {
		this.shared = shared;
	}

	/** Bytes the pool has allocated so far (held and free). */
	get allocatedBytes(): number {
		return this.#allocated;
	}

	/** The smallest free buffer of at least `bytes`, else a new one. */
	take(bytes: number): Backing {
		let best = -1;
		for (let i = 0; i < this.#free.length; i++) {
			const size = (this.#free[i] as Backing).byteLength;
			if (size >= bytes && (best < 0 || size < (this.#free[best] as Backing).byteLength)) {
				best = i;
			}
		}
		if (best >= 0) {
			const [buffer] = this.#free.splice(best, 1);
			return buffer as Backing;
		}
		// At least 8 bytes and a multiple of 8, so that every typed view fits and is aligned.
		const size = Math.max(8, Math.ceil(bytes / 8) * 8);
		this.#allocated += size;
		return this.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
	}

	give(buffer: Backing): void {
		this.#free.push(buffer);
	}

	/** A set of buffers released together: one tensor's, once it has been written. */
	arena(): PoolArena {
		return new PoolArena(this);
	}
}

export class PoolArena implements ScratchAllocator {
	readonly #pool: BufferPool;
	readonly #held: Backing[] = [];

	constructor(pool: BufferPool) {
		this.#pool = pool;
	}

	#take(bytes: number): Backing {
		const buffer = this.#pool.take(bytes);
		this.#held.push(buffer);
		return buffer;
	}

	/** Uninitialised bytes (for reads and encodes that overwrite them whole). */
	bytes(length: number): Uint8Array {
		return new Uint8Array(this.#take(length), 0, length);
	}

	/** Float32 values that will be overwritten whole (decoded inputs). */
	f32Uninitialised(length: number): Float32Array {
		return new Float32Array(this.#take(length * 4), 0, length);
	}

	f32(length: number): Float32Array {
		return new Float32Array(this.#take(length * 4), 0, length).fill(0);
	}

	f64(length: number): Float64Array {
		return new Float64Array(this.#take(length * 8), 0, length).fill(0);
	}

	i8(length: number): Int8Array {
		return new Int8Array(this.#take(length), 0, length).fill(0);
	}

	/** Gives one view's buffer back early (raw bytes once decoded), so that later requests of this tensor reuse it. */
	free(view: ArrayBufferView): void {
		const at = this.#held.indexOf(view.buffer as Backing);
		if (at >= 0) {
			this.#held.splice(at, 1);
			this.#pool.give(view.buffer as Backing);
		}
	}

	/** Gives every buffer back to the pool; views taken from this arena must not be used afterwards. */
	release(): void {
		for (const buffer of this.#held.splice(0)) {
			this.#pool.give(buffer);
		}
	}
}
