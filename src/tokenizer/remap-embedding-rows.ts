import type { Rounder } from "../methods/kernels/dtype-rounder.js";
import { DEFAULT_MEAN, DEFAULT_ZERO, type EmbeddingRows } from "./tokenizer-plan.js";

/**
 * Brings every input of one embedding tensor onto the output vocabulary (mergekit's `PermutedEmbeddings`, spec
 * §4.3): row i of a model's new matrix is its own row of token i, or, where it lacks the token or the token is
 * forced, the token's default row; padding rows are the mean of that model's token rows. `inputs` are the loaded
 * matrices (already in the merge's dtype); `round` rounds to that dtype as mergekit's arithmetic in it does
 * (undefined: float32).
 */
export function remapEmbeddingRows(
	plan: EmbeddingRows,
	inputs: ReadonlyMap<string, { data: Float32Array; shape: readonly number[] }>,
	round: Rounder | undefined,
): Map<string, Float32Array> {
	const { remap, defaults } = plan;
	const toDtype = round ?? Math.fround;
	const models = defaults.models.map((model) => {
		const input = inputs.get(model);
		const permutation = remap.permutations.get(model);
		if (input === undefined || permutation === undefined) {
			throw new Error(`embedding remap: no input or permutation for ${model}`);
		}
		return { model, data: input.data, permutation };
	});
	const width = inputs.get(defaults.models[0] ?? "")?.shape[1] ?? 0;
	const outputs = models.map(() => new Float32Array(remap.rows * width));
	const mean = new Float32Array(width);
	const zeros = new Float32Array(width);
	for (let id = 0; id < remap.tokens; id++) {
		const forced = remap.forced[id] === 1;
		let fallback: Float32Array | undefined;
		for (const [index, { data, permutation }] of models.entries()) {
			const own = permutation[id] as number;
			let row: Float32Array;
			if (own >= 0 && !forced) {
				row = data.subarray(own * width, (own + 1) * width);
			} else {
				fallback ??= defaultRow(id);
				row = fallback;
			}
			(outputs[index] as Float32Array).set(row, id * width);
		}
	}
	if (remap.rows > remap.tokens) {
		// Padding rows: the mean of the model's real rows (https://nlp.stanford.edu/~johnhew/vocab-expansion.html).
		const sums = new Float64Array(width);
		for (const output of outputs) {
			sums.fill(0);
			for (let id = 0; id < remap.tokens; id++) {
				for (let j = 0; j < width; j++) {
					sums[j] = (sums[j] as number) + (output[id * width + j] as number);
				}
			}
			const row = new Float32Array(width);
			for (let j = 0; j < width; j++) {
				row[j] = toDtype((sums[j] as number) / remap.tokens);
			}
			for (let id = remap.tokens; id < remap.rows; id++) {
				output.set(row, id * width);
			}
		}
	}
	return new Map(models.map(({ model }, index) => [model, outputs[index] as Float32Array]));

	function defaultRow(id: number): Float32Array {
		const source = defaults.source[id] as number;
		if (source >= 0) {
			const row = defaults.row[id] as number;
			const data = models[source]?.data as Float32Array;
			return data.subarray(row * width, (row + 1) * width);
		}
		if (source === DEFAULT_ZERO) {
			return zeros;
		}
		if (source !== DEFAULT_MEAN) {
			throw new Error(`embedding remap: no default row for token ${id}`);
		}
		// mergekit sums the rows one by one in the merge's dtype, then divides.
		mean.fill(0);
		let count = 0;
		for (const { data, permutation } of models) {
			const own = permutation[id] as number;
			if (own < 0) {
				continue;
			}
			count++;
			for (let j = 0; j < width; j++) {
				mean[j] = toDtype((mean[j] as number) + (data[own * width + j] as number));
			}
		}
		for (let j = 0; j < width; j++) {
			mean[j] = toDtype((mean[j] as number) / count);
		}
		return mean;
	}
}
