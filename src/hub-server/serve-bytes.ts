import { Readable } from "node:stream";

export type ByteSource =
	| { kind: "buffer"; bytes: Uint8Array }
	| { kind: "stream"; open: (range?: ByteRange) => Readable };

export interface ByteRange {
	start: number;
	end: number;
}

/** A single `bytes=` range against a size: a range, "unsatisfiable", or undefined for "serve the whole file". */
export function parseRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined {
	const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
	if (!match || (match[1] === "" && match[2] === "")) {
		// Absent, malformed or several ranges: RFC 9110 lets the server answer with the whole file.
		return undefined;
	}
	const [, first = "", last = ""] = match;
	if (first === "") {
		const suffix = Number(last);
		return suffix === 0 || size === 0 ? "unsatisfiable" : { start: Math.max(0, size - suffix), end: size - 1 };
	}
	const start = Number(first);
	const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
	if (last !== "" && Number(last) < start) {
		return undefined;
	}
	return start >= size ? "unsatisfiable" : { start, end };
}

const TEXT_TYPES: Record<string, string> = {
	json: "application/json",
	md: "text/markdown; charset=utf-8",
	txt: "text/plain; charset=utf-8",
	yml: "text/yaml; charset=utf-8",
	yaml: "text/yaml; charset=utf-8",
	jinja: "text/plain; charset=utf-8",
	gitattributes: "text/plain; charset=utf-8",
};

/** Never the xet file-info type: the JS client would then take the xet path, which the emulator does not speak. */
export function contentTypeOf(path: string): string {
	const extension = path.split("/").at(-1)?.split(".").at(-1) ?? "";
	return TEXT_TYPES[extension] ?? "application/octet-stream";
}

/**
 * Answers GET or HEAD for some bytes with Range support (206 + `Content-Range`, 416 when out of range). An empty
 * file answers a range with 200 and `Content-Range: bytes *\/0`, which the JS client reads as size 0.
 */
export function serveBytes(
	method: string,
	rangeHeader: string | undefined,
	size: number,
	source: ByteSource,
	headers: Record<string, string>,
): Response {
	const out = new Headers({ ...headers, "Accept-Ranges": "bytes" });
	const range = rangeHeader === undefined ? undefined : parseRange(rangeHeader, size);
	if (range === "unsatisfiable") {
		out.set("Content-Range", `bytes */${size}`);
		if (size === 0) {
			out.set("Content-Length", "0");
			return new Response(method === "HEAD" ? null : new Uint8Array(0), { status: 200, headers: out });
		}
		return new Response(null, { status: 416, headers: out });
	}
	const start = range?.start ?? 0;
	const end = range?.end ?? size - 1;
	const length = size === 0 ? 0 : end - start + 1;
	out.set("Content-Length", String(length));
	if (range) {
		out.set("Content-Range", `bytes ${start}-${end}/${size}`);
	}
	const status = range ? 206 : 200;
	if (method === "HEAD" || length === 0) {
		return new Response(method === "HEAD" ? null : new Uint8Array(0), { status, headers: out });
	}
	const body =
		source.kind === "buffer"
			? source.bytes.subarray(start, end + 1)
			: (Readable.toWeb(source.open(range ? { start, end } : undefined)) as ReadableStream<Uint8Array>);
	return new Response(body, { status, headers: out });
}
