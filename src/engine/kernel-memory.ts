import { HUGE_PAGE, hugePages } from "./huge-pages.js";
import { smallestFitting } from "./smallest-fitting.js";
import { createSharedMemory, type SharedWasmMemory } from "./wasm/instantiate-wasm.js";

/** WebAssembly's page: 64 KiB. */
const PAGE = 65536;
/** wasm32 addresses 4 GiB: 65536 pages. */
const MAX_PAGES = 65536;
/** Regions start on cache lines and have whole ones. */
const ALIGN = 64;

export interface MemoryRegion {
	readonly buffer: SharedArrayBuffer;
	readonly byteOffset: number;
	readonly byteLength: number;
}

interface FreeRange {
	offset: number;
	length: number;
}

/**
 * The memory the WebAssembly kernels run in: one shared WebAssembly.Memory per process, imported by every thread's
 * kernel module. The buffer pool hands out regions of it, so that kernels read inputs and write outputs where they
 * lie instead of copying blocks in and out of a memory of their own (those copies cost as much as the arithmetic).
 *
 * Regions are allocated and released only on the thread that created it; worker threads adopt it, read and write.
 * It grows on demand up to wasm32's 4 GiB, past which the pool hands out plain buffers. Memory never shrinks: a
 * process keeps the pages its largest merge touched, as the buffer pool does within one merge.
 */
export class KernelMemory {
	readonly memory: SharedWasmMemory;
	readonly #owner: boolean;
	/** Free ranges below `#top`, in address order, adjacent ones joined. */
	readonly #free: FreeRange[] = [];
	#top: number;
	/** This memory's buffers as this thread has met them (one object per size it has grown to). */
	readonly #buffers = new WeakSet<ArrayBufferLike>();
	#scratch: number | undefined;

	private constructor(memory: SharedWasmMemory, owner: boolean, scratch: number | undefined) {
		this.memory = memory;
		this.#owner = owner;
		// Address 0 stays unused, so that no region is mistaken for a null pointer.
		this.#top = ALIGN;
		this.#scratch = scratch;
		this.#buffers.add(memory.buffer);
	}

	static create(): KernelMemory {
		return new KernelMemory(createSharedMemory(1, MAX_PAGES), true, undefined);
	}

	/** A worker thread's view of a memory another thread created; `scratch` is the region set aside for its kernels. */
	static adopt(memory: SharedWasmMemory, scratch: number): KernelMemory {
		return new KernelMemory(memory, false, scratch);
	}

	/** Bytes from address 0 to the end of the highest region allocated so far. */
	get usedBytes(): number {
		return this.#top;
	}

	/** `bytes` bytes (rounded up to a cache line), or undefined where they would take the memory past 4 GiB. */
	allocate(bytes: number): MemoryRegion | undefined {
		this.#requireOwner();
		const length = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
		const best = smallestFitting(this.#free, (range) => range.length, length);
		if (best >= 0) {
			const range = this.#free[best] as FreeRange;
			const offset = range.offset;
			if (range.length === length) {
				this.#free.splice(best, 1);
			} else {
				range.offset += length;
				range.length -= length;
			}
			return this.#region(offset, length);
		}
		return this.allocateAtTop(length);
	}

	/**
	 * `bytes` bytes past every region so far, never cut out of the free ranges: for memory that is mapped over instead
	 * of written (see MappedReads), which, cut out of a free range, would leave the buffers that range would have held
	 * to be touched for the first time elsewhere. Undefined past 4 GiB.
	 */
	allocateAtTop(bytes: number): MemoryRegion | undefined {
		this.#requireOwner();
		const length = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
		const end = this.#top + length;
		if (end > MAX_PAGES * PAGE) {
			return undefined;
		}
		const size = this.memory.buffer.byteLength;
		if (end > size) {
			// To a huge page's boundary: a huge page is given only where the whole 2 MiB lies in memory already grown.
			const base = hugePages().offset(new Uint8Array(this.memory.buffer, 0, 1));
			const grown = Math.min(Math.ceil((base + end) / HUGE_PAGE) * HUGE_PAGE - base, MAX_PAGES * PAGE);
			this.memory.grow(Math.ceil((grown - size) / PAGE));
			hugePages().advise(new Uint8Array(this.memory.buffer, 0, 1), this.memory.buffer.byteLength);
		}
		const offset = this.#top;
		this.#top = end;
		return this.#region(offset, length);
	}

	/** Gives a region back; views of it must not be used afterwards. */
	release(region: MemoryRegion): void {
		this.#requireOwner();
		let at = this.#free.findIndex((range) => range.offset > region.byteOffset);
		if (at < 0) {
			at = this.#free.length;
		}
		this.#free.splice(at, 0, { offset: region.byteOffset, length: region.byteLength });
		// Join with the following range, then with the preceding one.
		const joinNext = (i: number): void => {
			const range = this.#free[i] as FreeRange;
			const next = this.#free[i + 1];
			if (next && range.offset + range.length === next.offset) {
				range.length += next.length;
				this.#free.splice(i + 1, 1);
			}
		};
		joinNext(at);
		if (at > 0) {
			joinNext(at - 1);
		}
		const last = this.#free[this.#free.length - 1];
		if (last && last.offset + last.length === this.#top) {
			this.#top = last.offset;
			this.#free.pop();
		}
	}

	/** Whether `view` lies in this memory (as far as this thread knows: workers learn buffers through `recognise`). */
	holds(view: ArrayBufferView): boolean {
		return this.#buffers.has(view.buffer);
	}

	/** Records that `buffer`, received from another thread, is this memory. */
	recognise(buffer: ArrayBufferLike): void {
		this.#buffers.add(buffer);
	}

	/**
	 * This thread's scratch region of `bytes` bytes for its kernels: a worker's was set aside when it was started,
	 * the creating thread's is allocated on first use and kept.
	 */
	scratch(bytes: number): number {
		if (this.#scratch === undefined) {
			const region = this.allocate(bytes);
			if (region === undefined) {
				throw new Error("kernel memory is full: no room for the kernels' scratch");
			}
			this.#scratch = region.byteOffset;
		}
		return this.#scratch;
	}

	#region(offset: number, length: number): MemoryRegion {
		const buffer = this.memory.buffer;
		this.#buffers.add(buffer);
		return { buffer, byteOffset: offset, byteLength: length };
	}

	#requireOwner(): void {
		if (!this.#owner) {
			throw new Error("kernel memory is allocated only by the thread that created it");
		}
	}
}

let current: KernelMemory | undefined;

/**
 * This thread's kernel memory: created on first use, except in the merge's worker threads, which adopt their
 * parent's before they run anything.
 */
export function kernelMemory(): KernelMemory {
	current ??= KernelMemory.create();
	return current;
}

/** Makes a memory created on another thread this (worker) thread's kernel memory. */
export function adoptKernelMemory(memory: SharedWasmMemory, scratch: number): void {
	current = KernelMemory.adopt(memory, scratch);
}
