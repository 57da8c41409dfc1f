/**
 * The top-left `rows × cols` block of a row-major matrix (mergekit's `X[:rows, :cols]`, used to rectify
 * embedding matrices of different vocabulary sizes). Returns the input itself when nothing is cut.
 */
export function cropSubmatrix(
	data: Float32Array,
	shape: readonly number[],
	rows: number,
	cols: number,
): { data: Float32Array; shape: readonly number[] } {
	if (shape.length !== 2) {
		throw new RangeError(`only 2-D tensors can be cropped, got shape [${shape.join(", ")}]`);
	}
	const [fromRows, fromCols] = shape as [number, number];
	if (rows > fromRows || cols > fromCols) {
		throw new RangeError(`cannot crop a ${fromRows}×${fromCols} matrix to ${rows}×${cols}`);
	}
	if (rows === fromRows && cols === fromCols) {
		return { data, shape };
	}
	const out = new Float32Array(rows * cols);
	for (let r = 0; r < rows; r++) {
		out.set(data.subarray(r * fromCols, r * fromCols + cols), r * cols);
	}
	return { data: out, shape: [rows, cols] };
}
