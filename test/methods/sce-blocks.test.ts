import { describe, expect, it } from "vitest";
import type { MergeContext, MergeInputs, MergeResult, ModelTensor } from "../../src/methods/merge-method.js";
import { sce } from "../../src/methods/sce.js";

/**
 * SCE's blocks of rows (MergeMethod.blockSums) against the whole tensor, on values from a small set, so that many
 * variances tie at the cut and the passes must find, across blocks, the index before which the ties are kept.
 */

const COLS = 65536;
const ROWS = 8;

function bf16Tensor(model: string, values: readonly number[], rows: number): ModelTensor {
	const bits = Uint16Array.from(
		values,
		(value) => (new Uint32Array(Float32Array.of(value).buffer)[0] as number) >>> 16,
	);
	const data = new Float32Array(Uint32Array.from(bits, (b) => b << 16).buffer);
	return { model, bf16: bits, data, shape: [rows, COLS], params: {} };
}

function rowsOf(tensor: ModelTensor, first: number, count: number): ModelTensor {
	const [from, to] = [first * COLS, (first + count) * COLS];
	return {
		model: tensor.model,
		bf16: (tensor.bf16 as Uint16Array).slice(from, to),
		data: tensor.data.slice(from, to),
		shape: [count, COLS],
		params: {},
	};
}

function context(selectTopk: number, rows?: MergeContext["rows"], tensorSums?: Float64Array): MergeContext {
	return {
		tensorName: "model.embed_tokens.weight",
		isEmbed: true,
		params: { select_topk: selectTopk, int8_mask: false },
		uniform: () => {
			throw new Error("sce draws nothing");
		},
		warn: () => undefined,
		...(rows ? { rows } : {}),
		...(tensorSums ? { tensorSums } : {}),
	};
}

/** The merge as the executor runs it in blocks of `blockRows` rows: every pass over the blocks' sums, then the blocks. */
function mergeInBlocks(inputs: MergeInputs, selectTopk: number, blockRows: number): Float32Array {
	const blockSums = sce.blockSums;
	const base = inputs.base as ModelTensor;
	const described = { shape: [ROWS, COLS], params: context(selectTopk).params, models: inputs.models, base };
	if (!blockSums?.applies(described)) {
		throw new Error("sce does not merge these in blocks of rows");
	}
	const blocks = Array.from({ length: ROWS / blockRows }, (_, b) => {
		const part = (tensor: ModelTensor) => rowsOf(tensor, b * blockRows, blockRows);
		return {
			inputs: { models: inputs.models.map(part), base: part(base) },
			rows: { offset: b * blockRows * COLS, total: ROWS * COLS },
		};
	});
	let earlier: Float64Array | undefined;
	for (let pass = 0; pass < (blockSums.passes?.(described) ?? 1); pass++) {
		let running: Float64Array | undefined;
		for (const block of blocks) {
			running = blockSums.add(block.inputs, context(selectTopk, block.rows, earlier), running);
		}
		earlier = Float64Array.from([...(earlier ?? []), ...(running ?? [])]);
	}
	const out = new Float32Array(ROWS * COLS);
	for (const block of blocks) {
		const result = sce.merge(block.inputs, context(selectTopk, block.rows, earlier)) as MergeResult;
		out.set(result.data, block.rows.offset);
	}
	return out;
}

/**
 * Values from a small set: base weights in steps of 1/8, the models' changes in steps of 1/64 (zeros among them), the
 * second model's spread `spread` times as wide, so that the elements a cut keeps change the models' energies unevenly.
 */
function inputs(seed: number, spread = 1): MergeInputs {
	let state = seed;
	const next = (): number => {
		state = (Math.imul(state, 1103515245) + 12345) >>> 0;
		return state / 2 ** 32;
	};
	const base = Array.from({ length: ROWS * COLS }, () => Math.floor(next() * 8 - 4) / 8);
	const model = (steps: number) => base.map((value) => value + Math.floor(next() * (2 * steps + 1) - steps) / 64);
	return {
		base: bf16Tensor("base", base, ROWS),
		models: [bf16Tensor("a", model(2), ROWS), bf16Tensor("b", model(2 * spread), ROWS)],
	};
}

/** Whether the variances tie across the cut at select_topk: the last one kept equals the first one dropped. */
function tiesAtCut(merge: MergeInputs, selectTopk: number): boolean {
	const [a, b] = merge.models.map((tensor) => tensor.data) as [Float32Array, Float32Array];
	const base = (merge.base as ModelTensor).data;
	const variances = Array.from(base, (value, i) => {
		const d0 = Math.fround((a[i] as number) - value);
		const d1 = Math.fround((b[i] as number) - value);
		const mean = (d0 + d1) / 2;
		return Math.fround(((d0 - mean) ** 2 + (d1 - mean) ** 2) / 2);
	});
	const nonzero = variances.filter((v) => v !== 0).length;
	const k = Math.floor(Math.fround(Math.fround(nonzero) * Math.fround(selectTopk)));
	const sorted = variances.sort((x, y) => y - x);
	return sorted[k - 1] === sorted[k];
}

describe("sce in blocks of rows", () => {
	for (const [selectTopk, spread] of [
		[0.3, 1],
		[0.5, 1],
		[0.5, 3],
		[1, 1],
	] as const) {
		it(`writes what the whole tensor gives, the cut's ties split across blocks (select_topk ${selectTopk}, spreads 1 and ${spread})`, () => {
			const merge = inputs(7, spread);
			if (selectTopk < 1) {
				expect(tiesAtCut(merge, selectTopk)).toBe(true);
			}
			const whole = (sce.merge(merge, context(selectTopk)) as MergeResult).data;
			for (const blockRows of [1, 2, 4]) {
				const blocked = mergeInBlocks(merge, selectTopk, blockRows);
				const differing = whole.findIndex((value, i) => !Object.is(value, blocked[i]));
				expect(differing).toBe(-1);
			}
		});
	}
});
