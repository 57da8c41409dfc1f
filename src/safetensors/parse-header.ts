import { DTYPE_SIZES, isSafetensorsDtype, type SafetensorsDtype } from "./dtype.js";
import { SafetensorsError } from "./safetensors-error.js";

export interface TensorInfo {
	name: string;
	dtype: SafetensorsDtype;
	shape: number[];
	/** Offset of the tensor's first byte from the start of the file. */
	byteOffset: number;
	byteLength: number;
}

export interface SafetensorsHeader {
	tensors: Map<string, TensorInfo>;
	metadata: Record<string, string>;
	/** Bytes before the data section: the 8-byte length prefix plus the JSON header. */
	dataStart: number;
}

/** Headers larger than this are refused rather than parsed (the reference implementation caps at 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

export function elementCount(shape: readonly number[]): number {
	let count = 1;
	for (const dim of shape) {
		count *= dim;
	}
	return count;
}

/**
 * Validates a safetensors JSON header against the size of the file it came from: known dtypes,
 * offsets inside the data section, no overlapping tensors, and shape × dtype size equal to each byte span.
 */
export function parseHeader(
	file: string,
	headerJson: string,
	headerLength: number,
	fileSize: number,
): SafetensorsHeader {
	let raw: unknown;
	try {
		raw = JSON.parse(headerJson);
	} catch (error) {
		throw new SafetensorsError(file, `the header is not valid JSON (${(error as Error).message})`);
	}
	if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
		throw new SafetensorsError(file, "the header is not a JSON object");
	}
	const dataStart = 8 + headerLength;
	const dataLength = fileSize - dataStart;
	const tensors = new Map<string, TensorInfo>();
	let metadata: Record<string, string> = {};
	for (const [name, entry] of Object.entries(raw as Record<string, unknown>)) {
		if (name === "__metadata__") {
			metadata = parseMetadata(file, entry);
			continue;
		}
		tensors.set(name, parseEntry(file, name, entry, dataStart, dataLength));
	}
	const spans = [...tensors.values()].sort((a, b) => a.byteOffset - b.byteOffset);
	for (let i = 1; i < spans.length; i++) {
		const previous = spans[i - 1] as TensorInfo;
		const current = spans[i] as TensorInfo;
		if (current.byteOffset < previous.byteOffset + previous.byteLength) {
			throw new SafetensorsError(file, `its bytes overlap those of tensor ${previous.name}`, current.name);
		}
	}
	return { tensors, metadata, dataStart };
}

function parseMetadata(file: string, entry: unknown): Record<string, string> {
	if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
		throw new SafetensorsError(file, "__metadata__ must be an object of strings");
	}
	for (const [key, value] of Object.entries(entry)) {
		if (typeof value !== "string") {
			throw new SafetensorsError(file, `__metadata__.${key} must be a string`);
		}
	}
	return entry as Record<string, string>;
}

function parseEntry(file: string, name: string, entry: unknown, dataStart: number, dataLength: number): TensorInfo {
	if (typeof entry !== "object" || entry === null) {
		throw new SafetensorsError(file, "the header entry is not an object", name);
	}
	const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
	if (typeof dtype !== "string" || !isSafetensorsDtype(dtype)) {
		throw new SafetensorsError(file, `unknown dtype ${JSON.stringify(dtype)}`, name);
	}
	if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
		throw new SafetensorsError(
			file,
			`shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`,
			name,
		);
	}
	if (
		!Array.isArray(offsets) ||
		offsets.length !== 2 ||
		!offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
		offsets[0] > offsets[1]
	) {
		throw new SafetensorsError(file, `data_offsets must be [begin, end], got ${JSON.stringify(offsets)}`, name);
	}
	const [begin, end] = offsets as [number, number];
	if (end > dataLength) {
		throw new SafetensorsError(
			file,
			`data_offsets end ${end} lies past the end of the file (data section is ${dataLength} bytes; truncated download?)`,
			name,
		);
	}
	const expected = elementCount(shape) * DTYPE_SIZES[dtype];
	if (end - begin !== expected) {
		throw new SafetensorsError(
			file,
			`shape ${JSON.stringify(shape)} of ${dtype} needs ${expected} bytes but data_offsets span ${end - begin}`,
			name,
		);
	}
	return { name, dtype, shape: shape as number[], byteOffset: dataStart + begin, byteLength: end - begin };
}
