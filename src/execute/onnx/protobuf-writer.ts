/**
 * The few protocol-buffer encodings an ONNX ModelProto needs (varints, length-delimited fields, fixed32, packed
 * repeated int64), written by hand so that the ONNX backend adds no dependency. Messages are built bottom-up: a nested
 * message is finished first, then written into its parent as bytes.
 */
export class ProtobufWriter {
	#chunks: Uint8Array[] = [];
	#scratch: number[] = [];

	/** A varint field (int32, int64, enum, bool); negative values take ten bytes, as in two's complement. */
	varint(field: number, value: number | bigint): this {
		this.#tag(field, 0);
		this.#varint(BigInt.asUintN(64, BigInt(value)));
		return this;
	}

	/** A length-delimited field: bytes, a string (UTF-8) or a finished nested message. */
	bytes(field: number, value: Uint8Array | string): this {
		const data = typeof value === "string" ? new TextEncoder().encode(value) : value;
		this.#tag(field, 2);
		this.#varint(BigInt(data.length));
		this.#flush();
		this.#chunks.push(data);
		return this;
	}

	/** A nested message, written by `build` into a writer of its own. */
	message(field: number, build: (writer: ProtobufWriter) => void): this {
		const nested = new ProtobufWriter();
		build(nested);
		return this.bytes(field, nested.finish());
	}

	/** A `float` field (wire type 5, little-endian IEEE single). */
	float(field: number, value: number): this {
		this.#tag(field, 5);
		const bytes = new Uint8Array(4);
		new DataView(bytes.buffer).setFloat32(0, value, true);
		this.#scratch.push(...bytes);
		return this;
	}

	/** A packed repeated int64 field (proto3's default encoding for repeated scalars). */
	packedInt64(field: number, values: readonly (number | bigint)[]): this {
		const inner = new ProtobufWriter();
		for (const value of values) {
			inner.#varint(BigInt.asUintN(64, BigInt(value)));
		}
		return this.bytes(field, inner.finish());
	}

	finish(): Uint8Array {
		this.#flush();
		const total = this.#chunks.reduce((sum, chunk) => sum + chunk.length, 0);
		const out = new Uint8Array(total);
		let offset = 0;
		for (const chunk of this.#chunks) {
			out.set(chunk, offset);
			offset += chunk.length;
		}
		return out;
	}

	#tag(field: number, wireType: number): void {
		this.#varint(BigInt(field) * 8n + BigInt(wireType));
	}

	#varint(value: bigint): void {
		let rest = value;
		while (rest >= 0x80n) {
			this.#scratch.push(Number(rest & 0x7fn) | 0x80);
			rest >>= 7n;
		}
		this.#scratch.push(Number(rest));
	}

	#flush(): void {
		if (this.#scratch.length > 0) {
			this.#chunks.push(Uint8Array.from(this.#scratch));
			this.#scratch = [];
		}
	}
}
