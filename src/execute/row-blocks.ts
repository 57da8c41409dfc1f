import { MEASURE_BLOCK } from "../insight/measure-range.js";
import { SAMPLE_FROM, SAMPLE_STRIDE } from "../insight/measure-tensor.js";
import type { PlannedInput, PlannedTensor } from "../plan/merge-plan.js";
import { DTYPE_SIZES } from "../safetensors/dtype.js";

/**
 * Input bytes of a block of rows (of the largest input, per input). A whole embedding matrix of a 1 B model is
 * 131 MB an input: merged whole, its inputs and result are the merge's peak memory, all of it touched for the first
 * time, which costs more than the rest of a linear merge's arithmetic (the first embedding 1.05 s, the second, in the
 * memory the first gave back, 0.13 s). In blocks, no tensor needs more memory than the layers do.
 */
export const ROW_BLOCK_BYTES = 16 * 1024 * 1024;

/** One block of rows of a tensor, merged and written as a tensor of its own. */
export interface RowBlock {
	/** The block as a tensor: the whole one's name and parameters, its rows' shape and inputs. */
	tensor: PlannedTensor;
	/** The tensor the block is part of. */
	whole: PlannedTensor;
	/** The block's first byte within the whole tensor's output. */
	from: number;
	last: boolean;
}

/**
 * A large tensor of an elementwise method (see MergeMethod.elementwise) as blocks of rows, so that only a block's
 * inputs and result are held at a time; undefined for a tensor merged whole: a small one, and one that is copied,
 * remapped onto another vocabulary, patched by an adapter or cropped.
 */
export function rowBlocks(tensor: PlannedTensor, blockBytes = ROW_BLOCK_BYTES): RowBlock[] | undefined {
	const inputs = tensor.base ? [...tensor.models, tensor.base] : tensor.models;
	const [rows = 0, ...rest] = tensor.shape;
	const largest = Math.max(0, ...inputs.map((input) => input.stored.byteLength));
	if (
		tensor.copyRaw ||
		tensor.embeddings ||
		largest <= blockBytes ||
		inputs.some((input) => input.lora || !sameShape(input.stored.shape, tensor.shape))
	) {
		return undefined;
	}
	const rowElements = rest.reduce((a, b) => a * b, 1);
	// Where the merge report measures a sample of the tensor's blocks, the blocks of rows start where sampled blocks do
	// in the whole tensor, so that it measures the same ones.
	const step = rows * rowElements >= SAMPLE_FROM ? SAMPLED_SPAN / gcd(rowElements, SAMPLED_SPAN) : 1;
	const rowsPerBlock = Math.max(step, Math.floor(((blockBytes / largest) * rows) / step) * step);
	if (rowsPerBlock >= rows) {
		return undefined;
	}
	const blocks: RowBlock[] = [];
	for (let first = 0; first < rows; first += rowsPerBlock) {
		const count = Math.min(rowsPerBlock, rows - first);
		const part = (input: PlannedInput): PlannedInput => {
			const rowBytes = rowElements * DTYPE_SIZES[input.stored.dtype];
			return {
				...input,
				stored: { ...input.stored, shape: [count, ...rest], byteLength: count * rowBytes },
				rowsFrom: first * rowBytes,
			};
		};
		blocks.push({
			tensor: {
				...tensor,
				shape: [count, ...rest],
				models: tensor.models.map(part),
				base: tensor.base && part(tensor.base),
			},
			whole: tensor,
			from: first * rowElements * DTYPE_SIZES[tensor.dtype],
			last: first + count >= rows,
		});
	}
	return blocks;
}

const SAMPLED_SPAN = MEASURE_BLOCK * SAMPLE_STRIDE;

function gcd(a: number, b: number): number {
	return b === 0 ? a : gcd(b, a % b);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
	return a.length === b.length && a.every((dim, d) => dim === b[d]);
}
