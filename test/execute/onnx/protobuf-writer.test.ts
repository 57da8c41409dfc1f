import { describe, expect, it } from "vitest";
import { encodeOnnxModel } from "../../../src/execute/onnx/encode-onnx-model.js";
import { GraphBuilder } from "../../../src/execute/onnx/graph-builder.js";
import { loadOnnxruntime } from "../../../src/execute/onnx/load-onnxruntime.js";
import { ProtobufWriter } from "../../../src/execute/onnx/protobuf-writer.js";

describe("ProtobufWriter", () => {
	it("writes varints, negative int64s, strings, floats and packed int64s as protobuf does", () => {
		expect([...new ProtobufWriter().varint(1, 300).finish()]).toEqual([0x08, 0xac, 0x02]);
		expect([...new ProtobufWriter().varint(2, -1).finish()]).toEqual([0x10, ...Array(9).fill(0xff), 0x01]);
		expect([...new ProtobufWriter().bytes(3, "hé").finish()]).toEqual([0x1a, 3, 0x68, 0xc3, 0xa9]);
		expect([...new ProtobufWriter().float(2, 1).finish()]).toEqual([0x15, 0, 0, 0x80, 0x3f]);
		expect([...new ProtobufWriter().packedInt64(1, [1, 150]).finish()]).toEqual([0x0a, 3, 0x01, 0x96, 0x01]);
		expect([...new ProtobufWriter().message(7, (inner) => inner.varint(1, 1)).finish()]).toEqual([0x3a, 2, 0x08, 1]);
	});

	it("encodes a model that onnxruntime loads and runs", async () => {
		const ort = loadOnnxruntime();
		const g = new GraphBuilder("axpy", { wide: "double", sequentialSums: true });
		const x = g.input("x", "float", ["n"]);
		const a = g.input("a", "double", []);
		const y = g.cast(g.add(g.mul(g.cast(x, "double"), a), g.wideConstant(0.5)), "float");
		g.output("y", y, ["n"]);
		g.output("total", g.sum(g.cast(x, "double")), []);
		const session = await ort.InferenceSession.create(encodeOnnxModel(g.build()));
		try {
			expect(session.inputNames).toEqual(["x", "a"]);
			const result = await session.run({
				x: new ort.Tensor("float32", Float32Array.of(1, 2, 3), [3]),
				a: new ort.Tensor("float64", Float64Array.of(2), []),
			});
			expect(Array.from(result.y?.data as Float32Array)).toEqual([2.5, 4.5, 6.5]);
			expect(Array.from(result.total?.data as Float64Array)).toEqual([6]);
		} finally {
			await session.release();
		}
	});
});
