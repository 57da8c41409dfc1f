import { type FileHandle, open } from "node:fs/promises";
import { decodeToF32, isFloatDtype } from "./dtype.js";
import {
	elementCount,
	MAX_HEADER_BYTES,
	parseHeader,
	type SafetensorsHeader,
	type TensorInfo,
} from "./parse-header.js";
import { SafetensorsError } from "./safetensors-error.js";

/** What a merge reads tensors through: a safetensors file on disk, or one streamed from the Hub. */
export interface TensorFile {
	readonly path: string;
	info(name: string): TensorInfo;
	/**
	 * A tensor's raw little-endian bytes, into `target` when given (it must be large enough); with `range`, only bytes
	 * [from, from + length) of the tensor.
	 */
	readBytes(name: string, target?: Uint8Array, range?: ByteRange): Promise<Uint8Array>;
	/** Where a tensor's bytes (or `range` of them) lie in the open file, for a file on disk that can be mapped. */
	placeOf?(name: string, range?: ByteRange): FilePlace;
	readFloat32(name: string): Promise<Float32Array>;
	close(): Promise<void>;
}

/** Where a tensor's bytes lie in an open file: `length` bytes from `offset` of file descriptor `fd`. */
export interface FilePlace {
	fd: number;
	offset: number;
	length: number;
}

/** Bytes [from, from + length) of a tensor. */
export interface ByteRange {
	from: number;
	length: number;
}

/** The range of a tensor's bytes a read asks for (all of them without `range`), checked against the tensor. */
export function checkRange(path: string, info: TensorInfo, range: ByteRange | undefined): ByteRange {
	if (range === undefined) {
		return { from: 0, length: info.byteLength };
	}
	if (range.from < 0 || range.length < 0 || range.from + range.length > info.byteLength) {
		throw new SafetensorsError(
			path,
			`bytes ${range.from}–${range.from + range.length} lie outside the tensor's ${info.byteLength}`,
			info.name,
		);
	}
	return range;
}

/** A safetensors file opened for positional reads of single tensors; the file is never read whole. */
export class SafetensorsFile implements TensorFile {
	readonly path: string;
	readonly tensors: ReadonlyMap<string, TensorInfo>;
	readonly metadata: Readonly<Record<string, string>>;
	readonly #handle: FileHandle;

	private constructor(path: string, handle: FileHandle, header: SafetensorsHeader) {
		this.path = path;
		this.#handle = handle;
		this.tensors = header.tensors;
		this.metadata = header.metadata;
	}

	static async open(path: string): Promise<SafetensorsFile> {
		const handle = await open(path, "r");
		try {
			const header = await readHeader(path, handle);
			return new SafetensorsFile(path, handle, header);
		} catch (error) {
			await handle.close();
			throw error;
		}
	}

	info(name: string): TensorInfo {
		return tensorInfo(this.path, this.tensors, name);
	}

	placeOf(name: string, range?: ByteRange): FilePlace {
		const info = this.info(name);
		const { from, length } = checkRange(this.path, info, range);
		return { fd: this.#handle.fd, offset: info.byteOffset + from, length };
	}

	async readBytes(name: string, target?: Uint8Array, range?: ByteRange): Promise<Uint8Array> {
		const info = this.info(name);
		const { from, length } = checkRange(this.path, info, range);
		const out = target ? target.subarray(0, length) : new Uint8Array(length);
		let done = 0;
		while (done < length) {
			const { bytesRead } = await this.#handle.read(out, done, length - done, info.byteOffset + from + done);
			if (bytesRead === 0) {
				throw new SafetensorsError(this.path, "the file ended before the tensor's last byte (truncated?)", name);
			}
			done += bytesRead;
		}
		return out;
	}

	/** Reads a floating-point tensor as float32 values. */
	readFloat32(name: string, target?: Float32Array, scratch?: Uint8Array): Promise<Float32Array> {
		return readFloat32Through(this, name, target, scratch);
	}

	async close(): Promise<void> {
		await this.#handle.close();
	}
}

/** A tensor's entry among a file's `tensors`, or the error that the file at `path` has no such tensor. */
export function tensorInfo(path: string, tensors: ReadonlyMap<string, TensorInfo>, name: string): TensorInfo {
	const info = tensors.get(name);
	if (!info) {
		throw new SafetensorsError(path, "no such tensor in this file", name);
	}
	return info;
}

/**
 * Reads a floating-point tensor of `file` as float32 values through its readBytes, into `target` when given (it must
 * be large enough): F32 bytes straight into the values, other dtypes into `scratch` when given, then decoded.
 */
export async function readFloat32Through(
	file: Pick<TensorFile, "path" | "info" | "readBytes">,
	name: string,
	target?: Float32Array,
	scratch?: Uint8Array,
): Promise<Float32Array> {
	const info = file.info(name);
	if (!isFloatDtype(info.dtype)) {
		throw new SafetensorsError(
			file.path,
			`dtype ${info.dtype} cannot take part in merge arithmetic (only F32, F16 and BF16 can)`,
			name,
		);
	}
	const count = elementCount(info.shape);
	const out = target ? target.subarray(0, count) : new Float32Array(count);
	if (info.dtype === "F32") {
		await file.readBytes(name, new Uint8Array(out.buffer, out.byteOffset, info.byteLength));
		return out;
	}
	const bytes = await file.readBytes(name, scratch);
	decodeToF32(bytes, info.dtype, out);
	return out;
}

async function readHeader(path: string, handle: FileHandle): Promise<SafetensorsHeader> {
	const { size } = await handle.stat();
	if (size < 8) {
		throw new SafetensorsError(path, `the file is ${size} bytes long, too short to hold a safetensors header`);
	}
	const prefix = Buffer.alloc(8);
	await handle.read(prefix, 0, 8, 0);
	const headerLength = prefix.readBigUInt64LE(0);
	if (headerLength > BigInt(MAX_HEADER_BYTES)) {
		throw new SafetensorsError(
			path,
			`the header claims ${headerLength} bytes, over the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`,
		);
	}
	const length = Number(headerLength);
	if (8 + length > size) {
		throw new SafetensorsError(
			path,
			`the header claims ${length} bytes but the file has only ${size - 8} after the length prefix`,
		);
	}
	const json = Buffer.alloc(length);
	await handle.read(json, 0, length, 8);
	return parseHeader(path, json.toString("utf8"), length, size);
}
