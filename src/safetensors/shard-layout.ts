import { DTYPE_SIZES, type SafetensorsDtype } from "./dtype.js";
import { elementCount } from "./parse-header.js";

export interface OutputTensorSpec {
	name: string;
	dtype: SafetensorsDtype;
	shape: readonly number[];
}

export interface ShardTensor extends OutputTensorSpec {
	/** Absolute offset of the tensor's first byte in its shard file. */
	byteOffset: number;
	byteLength: number;
}

export interface Shard {
	fileName: string;
	tensors: ShardTensor[];
	/** The serialized header: 8-byte length prefix plus padded JSON. */
	header: Uint8Array;
	/** Total size of the shard file. */
	size: number;
}

export interface ShardLayout {
	shards: Shard[];
	/** Sum of every tensor's bytes (`metadata.total_size` of the index). */
	totalSize: number;
	/** The index file's JSON when there is more than one shard. */
	indexJson: string | undefined;
}

/** mergekit's `--out-shard-size` default: 5B, decimal, in bytes. */
export const DEFAULT_SHARD_SIZE = 5_000_000_000;

/**
 * Assigns tensors (in the order given) to shards as mergekit's writer does: a shard is closed before a tensor that
 * would push it past `maxShardBytes`, and a tensor larger than the limit gets a shard of its own. Because every
 * header is known in advance, tensors can later be written in place, one at a time, with bounded memory.
 */
export function layoutShards(tensors: readonly OutputTensorSpec[], maxShardBytes = DEFAULT_SHARD_SIZE): ShardLayout {
	const groups: OutputTensorSpec[][] = [];
	let current: OutputTensorSpec[] = [];
	let currentBytes = 0;
	let totalSize = 0;
	for (const tensor of tensors) {
		const bytes = elementCount(tensor.shape) * DTYPE_SIZES[tensor.dtype];
		totalSize += bytes;
		if (current.length > 0 && currentBytes + bytes > maxShardBytes) {
			groups.push(current);
			current = [];
			currentBytes = 0;
		}
		current.push(tensor);
		currentBytes += bytes;
	}
	if (current.length > 0 || groups.length === 0) {
		groups.push(current);
	}
	const count = groups.length;
	const shards = groups.map((group, index) =>
		buildShard(count === 1 ? "model.safetensors" : shardFileName(index + 1, count), group),
	);
	let indexJson: string | undefined;
	if (count > 1) {
		const weightMap: Record<string, string> = {};
		for (const shard of shards) {
			for (const tensor of shard.tensors) {
				weightMap[tensor.name] = shard.fileName;
			}
		}
		const sortedMap = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
		indexJson = `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: sortedMap }, null, 2)}\n`;
	}
	return { shards, totalSize, indexJson };
}

export function shardFileName(index: number, count: number): string {
	return `model-${String(index).padStart(5, "0")}-of-${String(count).padStart(5, "0")}.safetensors`;
}

function buildShard(fileName: string, group: readonly OutputTensorSpec[]): Shard {
	const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
	let offset = 0;
	const placed: { spec: OutputTensorSpec; begin: number; end: number }[] = [];
	for (const spec of group) {
		const bytes = elementCount(spec.shape) * DTYPE_SIZES[spec.dtype];
		placed.push({ spec, begin: offset, end: offset + bytes });
		header[spec.name] = { dtype: spec.dtype, shape: spec.shape, data_offsets: [offset, offset + bytes] };
		offset += bytes;
	}
	// Pad the JSON with spaces to a multiple of 8 bytes so that tensor data starts aligned, as the reference writer does.
	let json = Buffer.from(JSON.stringify(header), "utf8");
	const padded = Math.ceil(json.length / 8) * 8;
	json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
	const headerBytes = new Uint8Array(8 + json.length);
	new DataView(headerBytes.buffer).setBigUint64(0, BigInt(json.length), true);
	headerBytes.set(json, 8);
	const dataStart = headerBytes.length;
	return {
		fileName,
		header: headerBytes,
		size: dataStart + offset,
		tensors: placed.map(({ spec, begin, end }) => ({
			...spec,
			byteOffset: dataStart + begin,
			byteLength: end - begin,
		})),
	};
}
