import { access, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTinyModel, type TinyModelOptions } from "../fixtures/make-tiny-model.js";

/** The synthetic inputs of one bench size: a base and two fine-tunes of it, in the real Llama layout. */
export interface BenchModels {
	base: string;
	a: string;
	b: string;
	/** Parameters of one model. */
	parameters: number;
}

/** TinyLlama-1.1B's widths: about 1.1 B parameters at 22 layers. */
const FULL: TinyModelOptions = {
	family: "llama",
	layers: 22,
	hidden: 2048,
	intermediate: 5632,
	heads: 32,
	kvHeads: 4,
	vocab: 32000,
	dtype: "BF16",
	seed: 1,
};

/** The same widths at 2 layers and a smaller vocabulary: a quick run. */
const SMALL: TinyModelOptions = { ...FULL, layers: 2, vocab: 8192 };

function parameterCount(options: TinyModelOptions): number {
	const h = options.hidden ?? 0;
	const i = options.intermediate ?? 0;
	const v = options.vocab ?? 0;
	const heads = options.heads ?? 1;
	const kv = ((options.kvHeads ?? heads) * h) / heads;
	const layer = h * h * 2 + 2 * kv * h + 3 * h * i + 2 * h;
	return (options.layers ?? 0) * layer + 2 * v * h + h;
}

/**
 * Writes the bench's models once into `cacheDir` (a folder per size and depth, reused by later runs; a `complete`
 * marker guards against a run killed halfway) and returns their folders.
 */
export async function benchModels(cacheDir: string, small: boolean, depth: 1 | 2): Promise<BenchModels> {
	const shape = small ? SMALL : FULL;
	const options: TinyModelOptions = { ...shape, layers: (shape.layers ?? 1) * depth };
	const dir = join(cacheDir, `${small ? "small" : "full"}-x${depth}`);
	const marker = join(dir, "complete");
	const models = { base: join(dir, "base"), a: join(dir, "a"), b: join(dir, "b"), parameters: parameterCount(options) };
	const done = await access(marker).then(
		() => true,
		() => false,
	);
	if (!done) {
		await rm(dir, { recursive: true, force: true });
		await mkdir(dir, { recursive: true });
		process.stderr.write(`writing the bench's synthetic models into ${dir} (once)\n`);
		await makeTinyModel(models.base, options);
		// Fine-tunes of the base: small seeded changes, as task vectors are.
		await makeTinyModel(models.a, { ...options, drift: { seed: 2, scale: 0.01 } });
		await makeTinyModel(models.b, { ...options, drift: { seed: 3, scale: 0.01 } });
		await writeFile(marker, "");
	}
	return models;
}
