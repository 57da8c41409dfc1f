import type { MergeResult } from "./merge-method.js";

/**
 * What a method's input checks and parameter reading give its CPU kernel and its ONNX graph alike: either the result
 * outright (`done`: a lone input's copy, or undefined where a method leaves the tensor out of the output), or the
 * checked operands and parameters `T`.
 */
export type Operands<T, Done extends MergeResult | undefined = MergeResult> = { readonly done: Done } | T;
