import type { FilePlace } from "../safetensors/safetensors-file.js";
import { loadHelper, type NativeHelper } from "./huge-pages.js";
import { kernelMemory, type MemoryRegion } from "./kernel-memory.js";
import { smallestFitting } from "./smallest-fitting.js";

/** Linux's page on x86-64 and arm64: what a file is mapped in, and where its offsets and addresses must agree. */
const PAGE = 4096;

/**
 * Inputs this small are read: mapping them costs a system call and a page fault each, for a copy of a few pages.
 */
const MAP_FROM = 256 * 1024;

/** mapFile's answer where some of the bytes are not in the page cache: they are read instead (see map-file.c). */
const NOT_CACHED = -1;

/** A stretch of kernel memory that holds only file mappings, whole pages of it. */
export interface MappedRegion {
	readonly byteOffset: number;
	readonly byteLength: number;
}

/**
 * Input tensors mapped from their files into kernel memory (mmap, through the native helper) instead of read into it.
 * A read copies the bytes from the page cache into memory of the merge's own, which costs a sixth to a third of a
 * simple merge's CPU time on the bench machine (about 6 GB/s), and that memory must be touched for the first time once
 * (0.6–1.1 s a GB even in huge pages). A mapping shares the page cache's pages: mapped and read through, a file went
 * at 7–9 GB/s where a read and a pass over its copy went at 2.7–3.8.
 *
 * The regions it maps into are kernel memory set aside for mappings: never written as plain memory, so that a
 * region's pages are never first touched, only mapped over again. A region given back drops its pages and waits for a
 * later mapping: the process's resident memory holds only the mappings in use, as it held the buffers of reads.
 * Writes to a mapped input would stay private to this process (copy on write); kernels only read their inputs.
 *
 * Bytes not all in the page cache are read, as the page faults of a mapping would read them from disk a page at a
 * time (a cold full-size merge took 1.3× as long mapped). Where the helper is missing, or a mapping fails (the failure
 * is kept in `status`), inputs are read too.
 */
export class MappedReads {
	readonly #helper: Pick<NativeHelper, "mapFile" | "unmapPages"> | undefined;
	/** Regions free for the next mappings. */
	readonly #free: MappedRegion[] = [];
	#failure: string | undefined;

	/** Maps through `helper`, or never, for the reason `off` gives. */
	constructor(helper: Pick<NativeHelper, "mapFile" | "unmapPages"> | { off: string }) {
		if ("off" in helper) {
			this.#failure = helper.off;
		} else {
			this.#helper = helper;
		}
	}

	/** Whether inputs are mapped, or why not. */
	get status(): { on: true } | { on: false; reason: string } {
		return this.#failure === undefined ? { on: true } : { on: false, reason: this.#failure };
	}

	/**
	 * The bytes at `place`, mapped into a region of kernel memory (returned with them, to be given back once they are
	 * no longer used); undefined where they are to be read instead: the helper is missing or has failed, they are
	 * small, or they lie at an offset that their elements (`alignment` bytes each) could not be viewed at in memory.
	 */
	map(place: FilePlace, alignment: number): { bytes: Uint8Array; region: MappedRegion } | undefined {
		const { fd, offset, length } = place;
		if (this.#helper === undefined || this.#failure !== undefined || length < MAP_FROM || offset % alignment !== 0) {
			return undefined;
		}
		const phase = offset % PAGE;
		// A page more than the bytes take: the SIMD kernels may load a step past a tensor's last element.
		const region = this.#take((Math.ceil((phase + length) / PAGE) + 1) * PAGE);
		if (region === undefined) {
			return undefined;
		}
		const memory = kernelMemory().memory;
		const bytes = new Uint8Array(memory.buffer, region.byteOffset + phase, length);
		const result = this.#helper.mapFile(bytes, fd, offset);
		if (result === 0) {
			return { bytes, region };
		}
		this.give(region);
		if (result !== NOT_CACHED) {
			// Reads work wherever mappings do not: the merge goes on reading, and the status says why.
			this.#failure = `mmap failed with errno ${result}`;
		}
		return undefined;
	}

	/** Takes a region back for later mappings, its pages dropped; its bytes must not be used afterwards. */
	give(region: MappedRegion): void {
		const errno = this.#helper?.unmapPages(
			new Uint8Array(kernelMemory().memory.buffer, region.byteOffset, region.byteLength),
		);
		if (errno !== undefined && errno !== 0) {
			this.#failure ??= `madvise(MADV_DONTNEED) failed with errno ${errno}`;
		}
		this.#free.push(region);
	}

	/** The smallest free region of at least `bytes`, else a new one of kernel memory, page-aligned. */
	#take(bytes: number): MappedRegion | undefined {
		const best = smallestFitting(this.#free, (region) => region.byteLength, bytes);
		if (best >= 0) {
			return this.#free.splice(best, 1)[0];
		}
		// A power of two, so that the regions of the first layers serve every later request; past all kernel memory, so
		// that none is cut out of the free ranges the buffers of later tensors would have come from (full-size ties' peak
		// grew 21% with twice the layers where regions had their requests' sizes and came from the free ranges).
		const size = 2 ** Math.ceil(Math.log2(bytes));
		// Kernel memory's base is page-aligned (mmap), so an offset's place within a page is the address's.
		const region: MemoryRegion | undefined = kernelMemory().allocateAtTop(size + PAGE);
		if (region === undefined) {
			return undefined;
		}
		return { byteOffset: Math.ceil(region.byteOffset / PAGE) * PAGE, byteLength: size };
	}
}

let current: MappedReads | undefined;

/**
 * This process's mapped reads (on the thread that owns the kernel memory): with `MERGESMITH_MAPPED_READS=1`, on Linux
 * where the native helper is built. Off by default: faster, but a merge's peak memory then grew 20–25% with twice the
 * layers (the bench's depth table), where it stays within 10% read.
 */
export function mappedReads(): MappedReads {
	current ??= new MappedReads(chooseHelper(process.env.MERGESMITH_MAPPED_READS, process.platform, loadHelper));
	return current;
}

/** The decision, apart from the machine it is made on (for tests). */
export function chooseHelper(
	setting: string | undefined,
	platform: string,
	load: () => Pick<NativeHelper, "mapFile" | "unmapPages"> | { error: string },
): Pick<NativeHelper, "mapFile" | "unmapPages"> | { off: string } {
	if (setting !== "1" && setting !== "on") {
		return {
			off: setting === undefined ? "off unless MERGESMITH_MAPPED_READS=1" : `MERGESMITH_MAPPED_READS=${setting}`,
		};
	}
	if (platform !== "linux") {
		return { off: "inputs are mapped on Linux only" };
	}
	const helper = load();
	return "error" in helper ? { off: `the native helper is not built (${helper.error})` } : helper;
}
