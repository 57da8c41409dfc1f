/**
 * The vectors ("lanes") along one axis of a row-major tensor: every lane holds `length` elements,
 * `stride` apart, and there are `count` lanes. A 0-d tensor is one lane of one element.
 */
export interface LaneLayout {
	length: number;
	stride: number;
	count: number;
	/** Flat index of lane `lane`'s first element. */
	start(lane: number): number;
}

export function laneLayout(shape: readonly number[], axis: number): LaneLayout {
	const dims = shape.length === 0 ? [1] : shape;
	const at = axis < 0 ? dims.length + axis : axis;
	if (at < 0 || at >= dims.length) {
		throw new RangeError(`axis ${axis} is out of range for a tensor of shape [${shape.join(", ")}]`);
	}
	const length = dims[at] as number;
	let stride = 1;
	for (let d = at + 1; d < dims.length; d++) {
		stride *= dims[d] as number;
	}
	let outer = 1;
	for (let d = 0; d < at; d++) {
		outer *= dims[d] as number;
	}
	const block = length * stride;
	return {
		length,
		stride,
		count: outer * stride,
		start: (lane: number): number => Math.floor(lane / stride) * block + (lane % stride),
	};
}
