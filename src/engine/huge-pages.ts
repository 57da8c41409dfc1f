import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** A transparent huge page on x86-64 and arm64 Linux. */
export const HUGE_PAGE = 2 << 20;

/** Where the native helper lies once `npm run build:native` (run by `npm install`) has built it. */
const HELPER = "../../native/build/Release/huge_pages.node";

export interface NativeHelper {
	/** madvise(MADV_HUGEPAGE) from the view's first byte, `bytes` long: 0, or the errno it failed with. */
	advise(view: ArrayBufferView, bytes: number): number;
	/** The view's first byte's address modulo 2 MiB. */
	hugePageOffset(view: ArrayBufferView): number;
	/**
	 * Maps file `fd`'s bytes from `offset` onto the pages that hold the view (native/map-file.c): 0, −1 where some of
	 * them are not in the page cache, or the errno it failed with.
	 */
	mapFile(view: Uint8Array, fd: number, offset: number): number;
	/** Drops the pages that hold the view from the process's memory (MADV_DONTNEED): 0, or the errno it failed with. */
	unmapPages(view: Uint8Array): number;
}

export type HugePagesStatus =
	| { on: true; how: string }
	| {
			on: false;
			reason: string;
			/** What would turn them on, where mergesmith can: building the helper. */
			remedy?: string;
	  };

/**
 * Huge pages for the merge's working memory. A merge touches its working memory (up to the inputs and result of the
 * largest tensor) for the first time once; with 4 KiB pages that is one page fault every 4 KiB, and a page fault is
 * dear, most of all in a virtual machine (a fresh GiB costs 3.5–4.5 s on the bench machine, against 0.6–1.1 s in
 * 2 MiB pages). Linux gives huge pages to memory that asks for them (`madvise`, Ubuntu's and many clouds' setting)
 * or to all memory (`always`); Node.js cannot ask, so a small native helper does.
 */
export interface HugePages {
	readonly status: HugePagesStatus;
	/** Asks for huge pages for `bytes` bytes from `view`'s first byte (the range may reach past the view). */
	advise(view: ArrayBufferView, bytes: number): void;
	/** The view's first byte's address modulo HUGE_PAGE (0 where unknown), so that memory can grow to a boundary. */
	offset(view: ArrayBufferView): number;
}

let current: HugePages | undefined;

/** This process's huge pages: decided once, from the kernel's setting, MERGESMITH_HUGE_PAGES and the helper. */
export function hugePages(): HugePages {
	current ??= createHugePages(process.env.MERGESMITH_HUGE_PAGES, transparentHugePageMode(), loadHelper);
	return current;
}

/** The bracketed word of /sys/kernel/mm/transparent_hugepage/enabled ("always [madvise] never"), or undefined. */
export function transparentHugePageMode(): string | undefined {
	if (process.platform !== "linux") {
		return undefined;
	}
	try {
		return /\[(\w+)\]/.exec(readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"))?.[1];
	} catch {
		return undefined;
	}
}

let loaded: NativeHelper | { error: string } | undefined;

/** The native helper, loaded once; where it is not built, why it could not be loaded. */
export function loadHelper(): NativeHelper | { error: string } {
	if (loaded === undefined) {
		try {
			loaded = createRequire(import.meta.url)(HELPER) as NativeHelper;
		} catch (error) {
			loaded = { error: (error as Error).message.split("\n")[0] ?? "" };
		}
	}
	return loaded;
}

/** The decision, apart from the machine it is made on (for tests). */
export function createHugePages(
	setting: string | undefined,
	mode: string | undefined,
	load: () => Pick<NativeHelper, "advise" | "hugePageOffset"> | { error: string },
): HugePages {
	// Nothing to ask: huge pages are off, or the kernel gives them unasked.
	const unasked = (status: HugePagesStatus): HugePages => ({ status, advise: () => undefined, offset: () => 0 });
	const off = (reason: string, remedy?: string): HugePages =>
		unasked(remedy === undefined ? { on: false, reason } : { on: false, reason, remedy });
	if (setting === "0" || setting === "off") {
		return off(`MERGESMITH_HUGE_PAGES=${setting}`);
	}
	if (mode === undefined) {
		return off(process.platform === "linux" ? "this kernel has no transparent huge pages" : "asked for on Linux only");
	}
	if (mode === "never") {
		return off("the kernel's transparent huge pages are off (/sys/kernel/mm/transparent_hugepage/enabled: never)");
	}
	const helper = load();
	if ("error" in helper) {
		if (mode === "always") {
			// The kernel gives all memory huge pages; the helper would only align the memory's growth to them.
			return unasked({ on: true, how: "the kernel's, for all memory (transparent_hugepage: always)" });
		}
		return off(
			`the native helper that asks for them is not built (${helper.error})`,
			"`npm run build:native` builds it (needs python3, make and a C compiler)",
		);
	}
	let status: HugePagesStatus = { on: true, how: `madvise (transparent_hugepage: ${mode})` };
	return {
		get status() {
			return status;
		},
		advise(view, bytes) {
			if (!status.on) {
				return;
			}
			const errno = helper.advise(view, bytes);
			if (errno !== 0) {
				// Memory keeps working in small pages; the status says why, once.
				status = { on: false, reason: `madvise(MADV_HUGEPAGE) failed with errno ${errno}` };
			}
		},
		offset: (view) => helper.hugePageOffset(view),
	};
}

/** A line for the user where huge pages are off and mergesmith could turn them on; undefined otherwise. */
export function hugePagesNote(status: HugePagesStatus = hugePages().status): string | undefined {
	return !status.on && status.remedy !== undefined
		? `note: merges run without huge pages, slower to touch their memory: ${status.reason}; ${status.remedy}`
		: undefined;
}
