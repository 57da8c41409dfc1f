import {
	type AttributeValue,
	type Initializer,
	ONNX_ELEMENT_TYPES,
	type OnnxGraph,
	type OnnxModel,
	type OnnxNode,
	type ValueInfo,
} from "./onnx-model.js";
import { ProtobufWriter } from "./protobuf-writer.js";

/** ONNX IR version 8 is the first to allow opset 18, and every onnxruntime since 1.14 reads it. */
const IR_VERSION = 8;

/** AttributeProto.AttributeType numbers. */
const ATTRIBUTE_TYPES = { float: 1, int: 2, string: 3, ints: 7 } as const;

/**
 * Serialises a model as the bytes of an ONNX ModelProto (onnx.proto3 field numbers), ready for
 * `InferenceSession.create(bytes)`.
 */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
	return new ProtobufWriter()
		.varint(1, IR_VERSION)
		.bytes(2, "mergesmith")
		.message(7, (writer) => writeGraph(writer, model.graph))
		.message(8, (opset) => opset.bytes(1, "").varint(2, model.opset))
		.finish();
}

function writeGraph(writer: ProtobufWriter, graph: OnnxGraph): void {
	for (const node of graph.nodes) {
		writer.message(1, (nested) => writeNode(nested, node));
	}
	writer.bytes(2, graph.name);
	for (const initializer of graph.initializers) {
		writer.message(5, (nested) => writeInitializer(nested, initializer));
	}
	for (const input of graph.inputs) {
		writer.message(11, (nested) => writeValueInfo(nested, input));
	}
	for (const output of graph.outputs) {
		writer.message(12, (nested) => writeValueInfo(nested, output));
	}
}

function writeNode(writer: ProtobufWriter, node: OnnxNode): void {
	for (const input of node.inputs) {
		writer.bytes(1, input);
	}
	for (const output of node.outputs) {
		writer.bytes(2, output);
	}
	writer.bytes(3, node.name).bytes(4, node.opType);
	for (const [name, value] of Object.entries(node.attributes)) {
		writer.message(5, (nested) => writeAttribute(nested, name, value));
	}
}

function writeAttribute(writer: ProtobufWriter, name: string, attribute: AttributeValue): void {
	writer.bytes(1, name).varint(20, ATTRIBUTE_TYPES[attribute.kind]);
	switch (attribute.kind) {
		case "float":
			writer.float(2, attribute.value);
			return;
		case "int":
			writer.varint(3, attribute.value);
			return;
		case "string":
			writer.bytes(4, attribute.value);
			return;
		case "ints":
			writer.packedInt64(8, attribute.value);
			return;
	}
}

function writeInitializer(writer: ProtobufWriter, tensor: Initializer): void {
	writer
		.packedInt64(1, tensor.dims)
		.varint(2, ONNX_ELEMENT_TYPES[tensor.type])
		.bytes(8, tensor.name)
		.bytes(9, tensor.raw);
}

function writeValueInfo(writer: ProtobufWriter, info: ValueInfo): void {
	writer.bytes(1, info.name).message(2, (type) =>
		type.message(1, (tensor) =>
			tensor.varint(1, ONNX_ELEMENT_TYPES[info.type]).message(2, (shape) => {
				for (const dim of info.dims) {
					shape.message(1, (dimension) =>
						typeof dim === "number" ? dimension.varint(1, dim) : dimension.bytes(2, dim),
					);
				}
			}),
		),
	);
}
