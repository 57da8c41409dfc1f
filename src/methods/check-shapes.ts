import type { ModelTensor } from "./merge-method.js";

/** Throws, naming every shape, unless all inputs have the same shape (the shape policy ran before the kernel). */
export function assertSameShapes(where: string, tensors: readonly ModelTensor[]): void {
	const first = tensors[0];
	if (!first) {
		return;
	}
	const same = tensors.every(
		(tensor) =>
			tensor.shape.length === first.shape.length && tensor.shape.every((size, axis) => size === first.shape[axis]),
	);
	if (!same) {
		const shapes = tensors.map((tensor) => `${tensor.model} [${tensor.shape.join(", ")}]`).join(", ");
		throw new Error(`${where}: the inputs' shapes differ (${shapes}); this method needs every input to have one shape`);
	}
}
