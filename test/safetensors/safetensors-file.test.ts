import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../src/safetensors/dtype.js";
import { SafetensorsFile } from "../../src/safetensors/safetensors-file.js";
import { writeSafetensorsFile } from "../../src/safetensors/write-safetensors-file.js";

let dir: string;
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-st-"));
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

/** A file with the given JSON header and `dataBytes` zero bytes of data. */
async function rawFile(name: string, header: unknown, dataBytes: number): Promise<string> {
	const json = Buffer.from(JSON.stringify(header));
	const prefix = Buffer.alloc(8);
	prefix.writeBigUInt64LE(BigInt(json.length));
	const path = join(dir, name);
	await writeFile(path, Buffer.concat([prefix, json, Buffer.alloc(dataBytes)]));
	return path;
}

describe("safetensors reader", () => {
	it("round-trips F32, F16 and BF16 tensors written by our writer", async () => {
		const values = new Float32Array([0, 1, -2.5, 3.140625, 65504, -1e-3]);
		const path = join(dir, "roundtrip.safetensors");
		await writeSafetensorsFile(path, {
			a: { dtype: "F32", shape: [2, 3], data: values },
			b: { dtype: "BF16", shape: [6], data: values },
			c: { dtype: "F16", shape: [3, 2], data: values },
		});
		const file = await SafetensorsFile.open(path);
		try {
			expect([...(await file.readFloat32("a"))]).toEqual([...values]);
			expect([...(await file.readFloat32("b"))]).toEqual([...values].map((v) => bf16ToF32(f32ToBf16(v))));
			expect([...(await file.readFloat32("c"))]).toEqual([...values].map((v) => f16ToF32(f32ToF16(v))));
			expect(file.metadata).toEqual({ format: "pt" });
		} finally {
			await file.close();
		}
		const bytes = await readFile(path);
		expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
	});

	it("rounds to nearest even when narrowing to bfloat16 and float16", () => {
		expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80); // halfway: stays on the even neighbour
		expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
		expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00);
		expect(f32ToF16(70000)).toBe(0x7c00);
		expect(f16ToF32(f32ToF16(2 ** -20))).toBe(2 ** -20);
	});

	const malformed: [string, unknown, number, RegExp][] = [
		["bad dtype", { w: { dtype: "Q4", shape: [1], data_offsets: [0, 1] } }, 1, /w\).*unknown dtype "Q4"/],
		[
			"span mismatch",
			{ w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } },
			12,
			/needs 16 bytes but data_offsets span 12/,
		],
		["past the end", { w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 8, /past the end of the file/],
		[
			"overlap",
			{ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } },
			12,
			/overlap/,
		],
		["negative shape", { w: { dtype: "F32", shape: [-1], data_offsets: [0, 0] } }, 0, /non-negative integers/],
	];
	for (const [name, header, dataBytes, message] of malformed) {
		it(`names the file and tensor for a header with ${name}`, async () => {
			const path = await rawFile(`${name.replaceAll(" ", "-")}.safetensors`, header, dataBytes);
			await expect(SafetensorsFile.open(path)).rejects.toThrow(message);
			await expect(SafetensorsFile.open(path)).rejects.toThrow(path);
		});
	}

	it("refuses a header length beyond the limit without allocating it", async () => {
		const path = join(dir, "huge.safetensors");
		const prefix = Buffer.alloc(16);
		prefix.writeBigUInt64LE(2n ** 60n);
		await writeFile(path, prefix);
		await expect(SafetensorsFile.open(path)).rejects.toThrow(/over the 100000000-byte limit/);
	});

	it("refuses a file shorter than its header claims and one that is not JSON", async () => {
		const short = join(dir, "short.safetensors");
		const prefix = Buffer.alloc(8);
		prefix.writeBigUInt64LE(1000n);
		await writeFile(short, Buffer.concat([prefix, Buffer.from("{}")]));
		await expect(SafetensorsFile.open(short)).rejects.toThrow(/claims 1000 bytes/);
		const notJson = join(dir, "not-json.safetensors");
		const p2 = Buffer.alloc(8);
		p2.writeBigUInt64LE(5n);
		await writeFile(notJson, Buffer.concat([p2, Buffer.from("hello")]));
		await expect(SafetensorsFile.open(notJson)).rejects.toThrow(/not valid JSON/);
	});

	it("refuses arithmetic reads of integer tensors but copies their bytes", async () => {
		const path = join(dir, "ints.safetensors");
		await writeSafetensorsFile(path, { ids: { dtype: "I64", shape: [2], data: new Uint8Array(16).fill(7) } });
		const file = await SafetensorsFile.open(path);
		try {
			await expect(file.readFloat32("ids")).rejects.toThrow(/I64 cannot take part in merge arithmetic/);
			expect([...(await file.readBytes("ids"))]).toEqual(new Array(16).fill(7));
		} finally {
			await file.close();
		}
	});

	it("reads a range of a tensor's bytes, and names the tensor when the range lies outside it", async () => {
		const path = join(dir, "range.safetensors");
		const data = Uint8Array.from({ length: 24 }, (_, i) => i);
		await writeSafetensorsFile(path, {
			before: { dtype: "U8", shape: [5], data: new Uint8Array(5).fill(255) },
			rows: { dtype: "U8", shape: [4, 6], data },
		});
		const file = await SafetensorsFile.open(path);
		try {
			expect([...(await file.readBytes("rows", undefined, { from: 6, length: 12 }))]).toEqual([...data.slice(6, 18)]);
			await expect(file.readBytes("rows", undefined, { from: 18, length: 12 })).rejects.toThrow(
				/range.safetensors \(tensor rows\): bytes 18–30 lie outside the tensor's 24/,
			);
		} finally {
			await file.close();
		}
	});
});
