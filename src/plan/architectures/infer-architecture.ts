import { type Architecture, type ArchitectureModule, layerWeightName, type WeightTemplate } from "./architecture.js";

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
 * vocabulary-sized. Layer tensors with several prefixes (a vision tower beside a language model) make one module per
 * prefix, named by it, plus `default` for the rest.
 */
export function inferArchitecture(input: InferenceInput): Architecture {
	const layerTemplates = new Map<string, { prefix: string; layers: Set<number> }>();
	const otherNames = new Set<string>();
	const embedNames = new Set<string>();
	const prefixLayerCounts = new Map<string, number>();
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
				const prefix = name.slice(0, match.index);
				const template = name.replace(LAYER_INDEX, ".${layer_index}.");
				const entry = layerTemplates.get(template) ?? { prefix, layers: new Set<number>() };
				entry.layers.add(index);
				layerTemplates.set(template, entry);
				prefixLayerCounts.set(prefix, Math.max(prefixLayerCounts.get(prefix) ?? 0, index + 1));
			} else {
				otherNames.add(name);
			}
		}
	}
	const presentInAll = (name: string): boolean => input.models.every((model) => model.tensors.has(name));
	const looseWeight = (name: string): WeightTemplate => ({
		name,
		isEmbed: embedNames.has(name),
		optional: !presentInAll(name),
	});
	const layerWeight = (template: string, entry: { prefix: string; layers: Set<number> }): WeightTemplate => ({
		name: template,
		optional:
			entry.layers.size < (prefixLayerCounts.get(entry.prefix) ?? 0) ||
			!input.models.every((model) =>
				[...entry.layers].every((index) => model.tensors.has(layerWeightName(template, index))),
			),
	});
	const sortedTemplates = [...layerTemplates.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
	const preWeights = [...otherNames].sort().map(looseWeight);
	const architecture: Architecture = {
		family: "generic",
		architectures: [],
		modelTypes: [],
		preWeights,
		layerWeights: sortedTemplates.map(([template, entry]) => layerWeight(template, entry)),
		postWeights: [],
		numLayersConfigKey: undefined,
		inferred: true,
	};
	const prefixes = [...prefixLayerCounts.keys()].sort();
	if (prefixes.length <= 1) {
		return architecture;
	}
	// Several layer prefixes: one module per prefix, named by it, and `default` for the tensors outside layers. A
	// loose tensor under a prefix (rare) joins the longest such prefix's module.
	const byLength = [...prefixes].sort((a, b) => b.length - a.length);
	const homeOf = (name: string): string => byLength.find((prefix) => name.startsWith(`${prefix}.`)) ?? "";
	const modules: ArchitectureModule[] = prefixes.map((prefix) => ({
		name: prefix,
		layerPrefix: prefix,
		preWeights: preWeights.filter((weight) => homeOf(weight.name) === prefix),
		layerWeights: sortedTemplates
			.filter(([, entry]) => entry.prefix === prefix)
			.map(([template, entry]) => layerWeight(template, entry)),
		postWeights: [],
		numLayersConfigKey: undefined,
	}));
	const leftovers = preWeights.filter((weight) => homeOf(weight.name) === "");
	if (leftovers.length > 0) {
		modules.push({
			name: "default",
			layerPrefix: "",
			preWeights: leftovers,
			layerWeights: [],
			postWeights: [],
			numLayersConfigKey: undefined,
		});
	}
	return { ...architecture, modules };
}
