import type { FloatDtype } from "../../safetensors/dtype.js";
import {
	type AttributeValue,
	type Dim,
	type ElementType,
	type Initializer,
	ONNX_ELEMENT_TYPES,
	type OnnxModel,
	type OnnxNode,
	type ValueInfo,
} from "./onnx-model.js";

/** A tensor inside a graph under construction: its name there (generated ones start with `_`) and its element type. */
export interface Value {
	readonly name: string;
	readonly type: ElementType;
}

/** The opset every graph is written against: the first with ReduceMin's axes as an input. */
export const OPSET = 18;

export interface GraphBuilderOptions {
	/**
	 * The type of the float64 intermediates our CPU kernels keep (sums, products with float64 weights, divisions):
	 * `double` reproduces them exactly; `float` serves execution providers without float64 (WebGPU), at the cost of
	 * float32 rounding there.
	 */
	wide: "double" | "float";
	/** Whether `sum` adds in index order (see GraphRunner.sequentialSums). */
	sequentialSums: boolean;
}

/**
 * Builds an ONNX graph from typed values: every operator checks its operands' types, so that a graph description that
 * mixes float32 and float64 fails while it is built, not inside onnxruntime. Method graphs are written against this
 * (see method-graphs.ts), never against raw nodes.
 */
export class GraphBuilder {
	readonly name: string;
	readonly wide: ElementType;
	readonly sequentialSums: boolean;
	#nodes: OnnxNode[] = [];
	#inputs: ValueInfo[] = [];
	#outputs: ValueInfo[] = [];
	#initializers: Initializer[] = [];
	#constants = new Map<string, Value>();
	#count = 0;

	constructor(name: string, options: GraphBuilderOptions) {
		this.name = name;
		this.wide = options.wide;
		this.sequentialSums = options.sequentialSums;
	}

	input(name: string, type: ElementType, dims: readonly Dim[]): Value {
		this.#inputs.push({ name, type, dims });
		return { name, type };
	}

	output(name: string, value: Value, dims: readonly Dim[]): void {
		this.#node("Identity", [value], [name], {});
		this.#outputs.push({ name, type: value.type, dims });
	}

	/** A constant, scalar unless `dims` says otherwise; equal constants are stored once. */
	constant(type: ElementType, values: number | readonly number[], dims: readonly number[] = []): Value {
		const list = typeof values === "number" ? [values] : values;
		const key = `${type}:${dims.join("x")}:${list.join(",")}`;
		const known = this.#constants.get(key);
		if (known) {
			return known;
		}
		const name = `_c${this.#constants.size}`;
		this.#initializers.push({ name, type, dims, raw: encodeValues(type, list) });
		const value = { name, type };
		this.#constants.set(key, value);
		return value;
	}

	/** A scalar of the wide type (float64 kernels' constants and per-model weights). */
	wideConstant(value: number): Value {
		return this.constant(this.wide, value);
	}

	add(a: Value, b: Value): Value {
		return this.#binary("Add", a, b);
	}

	sub(a: Value, b: Value): Value {
		return this.#binary("Sub", a, b);
	}

	mul(a: Value, b: Value): Value {
		return this.#binary("Mul", a, b);
	}

	div(a: Value, b: Value): Value {
		return this.#binary("Div", a, b);
	}

	min(a: Value, b: Value): Value {
		return this.#binary("Min", a, b);
	}

	max(a: Value, b: Value): Value {
		return this.#binary("Max", a, b);
	}

	abs(a: Value): Value {
		return this.#op("Abs", [a], a.type);
	}

	less(a: Value, b: Value): Value {
		return this.#compare("Less", a, b);
	}

	greater(a: Value, b: Value): Value {
		return this.#compare("Greater", a, b);
	}

	greaterOrEqual(a: Value, b: Value): Value {
		return this.#compare("GreaterOrEqual", a, b);
	}

	equal(a: Value, b: Value): Value {
		return this.#compare("Equal", a, b);
	}

	and(a: Value, b: Value): Value {
		this.#expect([a, b], "bool", "And");
		return this.#op("And", [a, b], "bool");
	}

	or(a: Value, b: Value): Value {
		this.#expect([a, b], "bool", "Or");
		return this.#op("Or", [a, b], "bool");
	}

	not(a: Value): Value {
		this.#expect([a], "bool", "Not");
		return this.#op("Not", [a], "bool");
	}

	/**
	 * `condition ? a : b` element by element. onnxruntime's CPU Where adds the two selections, so a selected −0 comes
	 * out +0: use it where the sign of a zero cannot matter (our kernels' sums all start at +0).
	 */
	where(condition: Value, a: Value, b: Value): Value {
		this.#expect([condition], "bool", "Where");
		this.#same("Where", a, b);
		return this.#op("Where", [condition, a, b], a.type);
	}

	cast(a: Value, type: ElementType): Value {
		return a.type === type ? a : this.#op("Cast", [a], type, { to: { kind: "int", value: typeCode(type) } });
	}

	/** Rounds float32 values to `dtype` and back, as storing an intermediate in that dtype would; F32 leaves them. */
	round(a: Value, dtype: FloatDtype | undefined): Value {
		this.#expect([a], "float", "round");
		if (dtype === "BF16") {
			return this.cast(
				this.#op("Cast", [a], "bfloat16", { to: { kind: "int", value: typeCode("bfloat16") } }),
				"float",
			);
		}
		if (dtype === "F16") {
			return this.cast(this.#op("Cast", [a], "float16", { to: { kind: "int", value: typeCode("float16") } }), "float");
		}
		return a;
	}

	/** The sum of every element, as a scalar. */
	reduceSum(a: Value): Value {
		return this.#op("ReduceSum", [a], a.type, { keepdims: { kind: "int", value: 0 } });
	}

	/**
	 * The sum of a 1-D tensor, as a scalar. Where the options ask for index order it adds as our float64 loops do: one
	 * element after the other (the last of the CPU provider's running sums, CumSum, which adds sequentially), or with
	 * `block` (a multiple of 4), as the kernels that split work by blocks and add in SIMD lanes do: in each run of
	 * `block` elements four sums, one per element index mod 4, added in that order, then the runs' sums in order.
	 * Elsewhere it is a parallel reduction.
	 */
	sum(a: Value, block?: number): Value {
		if (!this.sequentialSums) {
			return this.reduceSum(a);
		}
		if (block === undefined) {
			return this.last(this.cumSum(a, 0));
		}
		// Pad with +0 to whole blocks (adding +0 changes no sum that starts at +0), one block per row.
		const n = this.shapeOf(a);
		const size = this.constant("int64", [block], [1]);
		const padding = this.#op("Mod", [this.sub(size, this.#op("Mod", [n, size], "int64")), size], "int64");
		const pads = this.#op("Concat", [this.constant("int64", [0], [1]), padding], "int64", {
			axis: { kind: "int", value: 0 },
		});
		const padded = this.#op("Pad", [a, pads, this.constant(a.type, 0)], a.type);
		const lanes = this.laneTotals(this.reshape(padded, this.constant("int64", [-1, block / 4, 4], [3])));
		return this.laneSum(this.reshape(lanes, this.constant("int64", [-1, 4, 1], [3])));
	}

	/** The smallest element, as a scalar. */
	reduceMin(a: Value): Value {
		return this.#op("ReduceMin", [a], a.type, { keepdims: { kind: "int", value: 0 } });
	}

	/** Running sums along `axis`; `exclusive`: each element's sum leaves it out. */
	cumSum(a: Value, axis: number, exclusive = false): Value {
		return this.#op("CumSum", [a, this.constant("int64", axis)], a.type, {
			exclusive: { kind: "int", value: exclusive ? 1 : 0 },
		});
	}

	/** Element `index` of a 1-D tensor: a scalar, or with `keepDim` a tensor of shape [1]. */
	element(a: Value, index: number, keepDim = false): Value {
		const at = keepDim ? this.constant("int64", [index], [1]) : this.constant("int64", index);
		return this.#op("Gather", [a, at], a.type, { axis: { kind: "int", value: 0 } });
	}

	/** The last element of a 1-D tensor, as a scalar. */
	last(a: Value): Value {
		const slice = this.#op(
			"Slice",
			[a, this.constant("int64", [-1], [1]), this.constant("int64", [2 ** 53], [1])],
			a.type,
		);
		return this.#op("Squeeze", [slice], a.type);
	}

	/**
	 * The `k` largest (or smallest) elements along `axis` and their positions; equal values come lowest position first
	 * (ONNX's TopK contract). `k` is an int64 tensor of shape [1]. Unsorted, the same elements come in any order (faster).
	 */
	topK(a: Value, k: Value, axis: number, largest: boolean, sorted = true): { values: Value; indices: Value } {
		this.#expect([k], "int64", "TopK's k");
		const values = this.#name();
		const indices = this.#name();
		this.#node("TopK", [a, k], [values, indices], {
			axis: { kind: "int", value: axis },
			largest: { kind: "int", value: largest ? 1 : 0 },
			sorted: { kind: "int", value: sorted ? 1 : 0 },
		});
		return { values: { name: values, type: a.type }, indices: { name: indices, type: "int64" } };
	}

	reshape(a: Value, shape: Value): Value {
		this.#expect([shape], "int64", "Reshape's shape");
		return this.#op("Reshape", [a, shape], a.type);
	}

	expand(a: Value, shape: Value): Value {
		this.#expect([shape], "int64", "Expand's shape");
		return this.#op("Expand", [a, shape], a.type);
	}

	/** `data`'s elements at `indices` along `axis` (indices shaped like the result). */
	gatherElements(data: Value, indices: Value, axis: number): Value {
		this.#expect([indices], "int64", "GatherElements' indices");
		return this.#op("GatherElements", [data, indices], data.type, { axis: { kind: "int", value: axis } });
	}

	/**
	 * The sum of a tensor shaped [outer, length, stride] seen as outer·stride lanes along its middle axis: where the
	 * options ask for index order, each lane in its own order and then the lanes in row-major order (as our kernels
	 * that work lane by lane add them); elsewhere a reduction.
	 */
	laneSum(a: Value): Value {
		if (!this.sequentialSums) {
			return this.reduceSum(a);
		}
		return this.last(this.cumSum(this.reshape(this.laneTotals(a), this.constant("int64", [-1], [1])), 0));
	}

	/**
	 * Each lane's sum of a tensor shaped [outer, length, stride] (lanes along the middle axis), shaped [outer, 1, stride]:
	 * in lane order where the options ask for index order (the last running sum), else a reduction.
	 */
	laneTotals(a: Value): Value {
		const one = this.constant("int64", [1], [1]);
		if (!this.sequentialSums) {
			return this.#op("ReduceSum", [a, one], a.type, { keepdims: { kind: "int", value: 1 } });
		}
		return this.#op(
			"Slice",
			[this.cumSum(a, 1), this.constant("int64", [-1], [1]), this.constant("int64", [2 ** 53], [1]), one],
			a.type,
		);
	}

	/** A copy of `data` with `updates` written at `indices` along `axis`. */
	scatterElements(data: Value, indices: Value, updates: Value, axis: number): Value {
		this.#expect([indices], "int64", "ScatterElements' indices");
		this.#same("ScatterElements", data, updates);
		return this.#op("ScatterElements", [data, indices, updates], data.type, { axis: { kind: "int", value: axis } });
	}

	/** 0, 1, …, n − 1 as int64, n a scalar int64 value. */
	range(n: Value): Value {
		this.#expect([n], "int64", "Range's limit");
		return this.#op("Range", [this.constant("int64", 0), n, this.constant("int64", 1)], "int64");
	}

	/** The dimensions of `a`, as a 1-D int64 tensor. */
	shapeOf(a: Value): Value {
		return this.#op("Shape", [a], "int64");
	}

	/** +0 in every element of a tensor of `a`'s shape and type. */
	zerosLike(a: Value): Value {
		return this.expand(this.constant(a.type, 0), this.shapeOf(a));
	}

	sqrt(a: Value): Value {
		return this.#op("Sqrt", [a], a.type);
	}

	/** Rounds towards −∞ (float types). */
	floor(a: Value): Value {
		return this.#op("Floor", [a], a.type);
	}

	/** How many elements of a boolean tensor are true, as an int64 scalar. */
	count(a: Value): Value {
		this.#expect([a], "bool", "count");
		return this.reduceSum(this.cast(a, "int64"));
	}

	build(): OnnxModel {
		// Constants a description created but did not use would draw onnxruntime's "unused initializer" warnings.
		const used = new Set(this.#nodes.flatMap((node) => node.inputs));
		return {
			opset: OPSET,
			graph: {
				name: this.name,
				nodes: this.#nodes,
				inputs: this.#inputs,
				outputs: this.#outputs,
				initializers: this.#initializers.filter((initializer) => used.has(initializer.name)),
			},
		};
	}

	#binary(opType: string, a: Value, b: Value): Value {
		this.#same(opType, a, b);
		return this.#op(opType, [a, b], a.type);
	}

	#compare(opType: string, a: Value, b: Value): Value {
		this.#same(opType, a, b);
		return this.#op(opType, [a, b], "bool");
	}

	#same(opType: string, a: Value, b: Value): void {
		if (a.type !== b.type) {
			throw new Error(`graph ${this.name}: ${opType} of ${a.type} ${a.name} and ${b.type} ${b.name}; cast one first`);
		}
	}

	#expect(values: readonly Value[], type: ElementType, what: string): void {
		for (const value of values) {
			if (value.type !== type) {
				throw new Error(`graph ${this.name}: ${what} needs ${type}, got ${value.type} ${value.name}`);
			}
		}
	}

	#op(
		opType: string,
		inputs: readonly Value[],
		type: ElementType,
		attributes: Record<string, AttributeValue> = {},
	): Value {
		const name = this.#name();
		this.#node(opType, inputs, [name], attributes);
		return { name, type };
	}

	#node(
		opType: string,
		inputs: readonly (Value | string)[],
		outputs: readonly string[],
		attributes: Record<string, AttributeValue>,
	): void {
		this.#nodes.push({
			opType,
			inputs: inputs.map((input) => (typeof input === "string" ? input : input.name)),
			outputs,
			name: `${opType}_${this.#nodes.length}`,
			attributes,
		});
	}

	#name(): string {
		this.#count++;
		return `_v${this.#count}`;
	}
}

function typeCode(type: ElementType): number {
	return ONNX_ELEMENT_TYPES[type];
}

function encodeValues(type: ElementType, values: readonly number[]): Uint8Array {
	switch (type) {
		case "float":
			return bytesOf(Float32Array.from(values));
		case "double":
			return bytesOf(Float64Array.from(values));
		case "int64":
			return bytesOf(BigInt64Array.from(values, (value) => BigInt(value)));
		case "int32":
			return bytesOf(Int32Array.from(values));
		case "bool":
		case "uint8":
			return Uint8Array.from(values);
		default:
			throw new Error(`constants of type ${type} are not supported`);
	}
}

function bytesOf(array: Float32Array | Float64Array | BigInt64Array | Int32Array): Uint8Array {
	return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
