/**
 * The part of ONNX's ModelProto that mergesmith's graphs use: one graph of standard-domain operators, typed inputs
 * and outputs with symbolic or fixed dimensions, and small initializers (scalars, shapes).
 */

/** Element types by ONNX's TensorProto.DataType numbers. */
export const ONNX_ELEMENT_TYPES = {
	float: 1,
	uint8: 2,
	int32: 6,
	int64: 7,
	bool: 9,
	float16: 10,
	double: 11,
	uint32: 12,
	bfloat16: 16,
} as const;

export type ElementType = keyof typeof ONNX_ELEMENT_TYPES;

/** A dimension: a fixed size, or a name that every input using it must agree on. */
export type Dim = number | string;

export interface ValueInfo {
	name: string;
	type: ElementType;
	dims: readonly Dim[];
}

/** A constant tensor stored in the model, little-endian, as `raw_data`. */
export interface Initializer {
	name: string;
	type: ElementType;
	dims: readonly number[];
	raw: Uint8Array;
}

export type AttributeValue =
	| { kind: "int"; value: number | bigint }
	| { kind: "float"; value: number }
	| { kind: "ints"; value: readonly (number | bigint)[] }
	| { kind: "string"; value: string };

export interface OnnxNode {
	opType: string;
	inputs: readonly string[];
	outputs: readonly string[];
	name: string;
	attributes: Readonly<Record<string, AttributeValue>>;
}

export interface OnnxGraph {
	name: string;
	nodes: readonly OnnxNode[];
	inputs: readonly ValueInfo[];
	outputs: readonly ValueInfo[];
	initializers: readonly Initializer[];
}

export interface OnnxModel {
	/** The default domain's opset every node is written against. */
	opset: number;
	graph: OnnxGraph;
}
