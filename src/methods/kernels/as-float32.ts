import { bf16ToF32 } from "../../safetensors/dtype.js";
import type { RangeArray } from "./range-kernels.js";

/** Element j of a kernel input as a number: float32 values as they are, bfloat16 bit patterns decoded. */
export const asFloat32 = (x: RangeArray, j: number): number =>
	x instanceof Uint16Array ? bf16ToF32(x[j] as number) : (x[j] as number);
