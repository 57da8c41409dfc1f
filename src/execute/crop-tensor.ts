import { elementCount } from "../safetensors/parse-header.js";

/** The leading sub-block of a row-major tensor: `data[:target[0], :target[1], ...]`. */
export function cropTensor(data: Float32Array, shape: readonly number[], target: readonly number[]): Float32Array {
	if (shape.length !== target.length) {
		throw new Error(`cannot crop a ${shape.length}-D tensor to ${target.length} dimensions`);
	}
	if (shape.every((dim, d) => dim === target[d])) {
		return data;
	}
	const out = new Float32Array(elementCount(target));
	const rank = shape.length;
	const innerTarget = (target[rank - 1] ?? 1) as number;
	const rows = elementCount(target.slice(0, -1));
	const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
	for (let row = 0; row < rows; row++) {
		let sourceOffset = 0;
		for (let d = 0; d < rank - 1; d++) {
			sourceOffset = sourceOffset * (shape[d] as number) + (index[d] as number);
		}
		sourceOffset *= shape[rank - 1] as number;
		out.set(data.subarray(sourceOffset, sourceOffset + innerTarget), row * innerTarget);
		for (let d = rank - 2; d >= 0; d--) {
			index[d] = (index[d] as number) + 1;
			if ((index[d] as number) < (target[d] as number)) {
				break;
			}
			index[d] = 0;
		}
	}
	return out;
}
