import { type Architecture, layerWeightName, type WeightTemplate } from "./architecture.js";

const LAYER_INDEX = /\.(\d+)\./;
/** Module names transformers uses for input and output embeddings across families. */
const EMBEDDING_NAME =
	/(^|\.)(embed_tokens|embed_in|embed_out|wte|word_embeddings|tok_embeddings|lm_head|embeddings)(\.|$)/;

export interface InferenceInput {
	/** Tensor names (and 2-D shapes' row counts) of each model. */
	models: readonly { tensors: ReadonlyMap<string, readonly number[]>; vocabSize: number | undefined }[];
}

/**
 * The generic rule for models no family table knows (mergekit's auto-inference, spec §3.3): a name with `.N.` is a
 * layer tensor whose template replaces the first `.N.`; everything else comes before the layers; a tensor missing
 * from some model (or some layer) is optional; embedding-module names, and 2-D tensors with vocab_size rows, are
 * vocabulary-sized.
 */
export function inferArchitecture(input: InferenceInput): Architecture {
	const layerTemplates = new Map<string, Set<number>>();
	const otherNames = new Set<string>();
	const embedNames = new Set<string>();
	let layerCount = 0;
	for (const model of input.models) {
		for (const [name, shape] of model.tensors) {
			if (
				EMBEDDING_NAME.test(name) ||
				(shape.length === 2 && model.vocabSize !== undefined && shape[0] === model.vocabSize)
			) {
				embedNames.add(name);
			}
			const match = LAYER_INDEX.exec(name);
			if (match) {
				const index = Number(match[1]);
				const template = name.replace(LAYER_INDEX, ".${layer_index}.");
				const layers = layerTemplates.get(template) ?? new Set<number>();
				layers.add(index);
				layerTemplates.set(template, layers);
				layerCount = Math.max(layerCount, index + 1);
			} else {
				otherNames.add(name);
			}
		}
	}
	const presentInAll = (name: string): boolean => input.models.every((model) => model.tensors.has(name));
	const preWeights: WeightTemplate[] = [...otherNames].sort().map((name) => ({
		name,
		isEmbed: embedNames.has(name),
		optional: !presentInAll(name),
	}));
	const layerWeights: WeightTemplate[] = [...layerTemplates.entries()]
		.sort(([a], [b]) => (a < b ? -1 : 1))
		.map(([template, layers]) => ({
			name: template,
			optional:
				layers.size < layerCount ||
				!input.models.every((model) =>
					[...layers].every((index) => model.tensors.has(layerWeightName(template, index))),
				),
		}));
	return {
		family: "generic",
		architectures: [],
		modelTypes: [],
		preWeights,
		layerWeights,
		postWeights: [],
		numLayersConfigKey: undefined,
		inferred: true,
	};
}
