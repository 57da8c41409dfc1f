import { MEASURE_BLOCK } from "../insight/measure-range.js";
import { SAMPLE_FROM, SAMPLE_STRIDE } from "../insight/measure-tensor.js";
import { PAIR_BLOCK } from "../methods/kernels/range-kernels.js";
import type { PlannedInput, PlannedTensor } from "../plan/merge-plan.js";
import { DTYPE_SIZES } from "../safetensors/dtype.js";
import { elementCount } from "../safetensors/parse-header.js";

/**
 * Input bytes of a block of rows (of the largest input, per input). A whole embedding matrix of a 1 B model is
 * 131 MB an input: merged whole, its inputs and result are the merge's peak memory, all of it touched for the first
 * time, which costs more than the rest of a linear merge's arithmetic (the first embedding 1.05 s, the second, in the
 * memory the first gave back, 0.13 s). In blocks, no tensor needs more memory than the layers do.
 */
export const ROW_BLOCK_BYTES = 16 * 1024 * 1024;

/**
 * Tensors are cut into blocks where their largest input is more than this many blocks. Where a pass over the blocks'
 * sums comes first, every block is read twice, so only the largest tensors are worth it: cutting a 1 B model's 23 MB
 * layer matrices too cost full-size slerp 2.96 → 3.30 s side by side. Elementwise methods gain from cutting them too
 * (task_arithmetic 3.65–3.79 → 3.38–3.49 s, peak memory 0.43 → 0.35 GB, against cutting only what is over two
 * blocks).
 */
const ELEMENTWISE_SPLIT = 1;
const SUMS_SPLIT = 4;

/** One block of rows of a tensor, merged and written as a tensor of its own. */
export interface RowBlock {
	/** The block as a tensor: the whole one's name and parameters, its rows' shape and inputs. */
	tensor: PlannedTensor;
	/** The tensor the block is part of. */
	whole: PlannedTensor;
	/** The block's first byte within the whole tensor's output. */
	from: number;
	last: boolean;
	/**
	 * Read only to add its sums to the whole tensor's, in this pass (from 0) of those before the blocks merge (see
	 * MergeMethod.blockSums).
	 */
	sumsPass?: number;
}

/**
 * A large tensor of an elementwise method (see MergeMethod.elementwise), or of one that needs only the whole tensor's
 * sums (`sums`, see MergeMethod.blockSums), as blocks of rows, so that only a block's inputs and result are held at a
 * time; undefined for a tensor merged whole: a small one, and one that is copied, remapped onto another vocabulary,
 * patched by an adapter or cropped.
 */
export function rowBlocks(
	tensor: PlannedTensor,
	{ blockBytes = ROW_BLOCK_BYTES, sums = false }: { blockBytes?: number; sums?: boolean } = {},
): RowBlock[] | undefined {
	const inputs = tensor.base ? [...tensor.models, tensor.base] : tensor.models;
	const [rows = 0, ...rest] = tensor.shape;
	const largest = Math.max(0, ...inputs.map((input) => input.stored.byteLength));
	if (
		tensor.copyRaw ||
		tensor.embeddings ||
		largest <= blockBytes * (sums ? SUMS_SPLIT : ELEMENTWISE_SPLIT) ||
		inputs.some((input) => input.lora || !sameShape(input.stored.shape, tensor.shape))
	) {
		return undefined;
	}
	const rowElements = elementCount(rest);
	// Blocks of rows start where the sums' blocks do in the whole tensor, so that the sums add up in the same order;
	// where the merge report measures a sample of the tensor's blocks, where sampled blocks do, so that it measures the
	// same ones.
	const span = sums ? PAIR_BLOCK : rows * rowElements >= SAMPLE_FROM ? SAMPLED_SPAN : 1;
	const step = span / gcd(rowElements, span);
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

// PAIR_BLOCK (65536) holds whole sampled spans, so blocks of rows aligned to the first are aligned to the second.
const SAMPLED_SPAN = MEASURE_BLOCK * SAMPLE_STRIDE;

function gcd(a: number, b: number): number {
	return b === 0 ? a : gcd(b, a % b);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
	return a.length === b.length && a.every((dim, d) => dim === b[d]);
}
