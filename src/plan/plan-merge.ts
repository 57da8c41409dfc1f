import { chooseSeed } from "../execute/counter-random.js";
import type { MergeMethod, ParameterDef, ParameterValue } from "../methods/merge-method.js";
import { findMergeMethod } from "../methods/registry.js";
import type { LoadedModel, StoredTensor } from "../models/load-model.js";
import { coerceParameterValue } from "../recipe/coerce-parameter-value.js";
import type {
	Diagnostic,
	InputModel,
	ModelReference,
	OutputSlice,
	Parameters,
	Recipe,
	SourceSpan,
} from "../recipe/recipe.js";
import { suggestName } from "../recipe/suggest-name.js";
import {
	dtypeFromRecipeName,
	type FloatDtype,
	isFloatDtype,
	type SafetensorsDtype,
	torchDtypeName,
} from "../safetensors/dtype.js";
import { elementCount } from "../safetensors/parse-header.js";
import { planEmbeddingRows } from "../tokenizer/plan-embedding-rows.js";
import { planTokenizer } from "../tokenizer/plan-tokenizer.js";
import { setConfigValue } from "../tokenizer/set-config-value.js";
import type { TokenizerInputs } from "../tokenizer/tokenizer-data.js";
import type { EmbeddingRemap, TokenDefaults, TokenizerPlan } from "../tokenizer/tokenizer-plan.js";
import {
	type Architecture,
	type ArchitectureModule,
	layerWeightName,
	type WeightTemplate,
} from "./architectures/architecture.js";
import { architectureModules } from "./architectures/architecture-modules.js";
import { chooseArchitecture } from "./choose-architecture.js";
import { evaluateSetting } from "./evaluate-setting.js";
import type { MergePlan, PlannedInput, PlannedTensor } from "./merge-plan.js";
import { PlanError } from "./plan-error.js";

export interface PlanOptions {
	/** `--random-seed`; takes precedence over the recipe's `random_seed`. */
	seed?: number;
	allowCrimes?: boolean;
	/** Tokenizer files read beforehand (`readMergeTokenizers`); needed when the recipe sets a tokenizer option. */
	tokenizers?: TokenizerInputs;
}

interface PlanSource {
	model: LoadedModel;
	start: number;
	end: number;
	parameters: Parameters;
	span: SourceSpan;
}

interface PlanSlice {
	sources: PlanSource[];
	base: ModelReference | undefined;
	/** Parameter levels below the sources', highest precedence first: the slice's, then the recipe's. */
	levels: readonly Parameters[];
	span: SourceSpan;
}

/** Where a tensor is taken from: which slice, the output and input names, and the gradient position. */
interface TensorSite {
	template: WeightTemplate;
	outputName: string;
	slice: PlanSlice;
	sliceIndex: number;
	/** Input tensor name for a source (layer tensors are renumbered). */
	inputName(source: PlanSource): string;
	t: number;
	layer: PlannedTensor["layer"];
}

/**
 * Turns a recipe and its opened models into the list of output tensors, each with its inputs and resolved
 * parameters (spec §1.4–§1.7, §2.0). Reads safetensors headers and configs only, never weights.
 */
export function planMerge(
	recipe: Recipe,
	loaded: ReadonlyMap<string, LoadedModel>,
	options: PlanOptions = {},
): MergePlan {
	const method = findMergeMethod(recipe.mergeMethod);
	if (!method) {
		throw new PlanError(`unknown merge method \`${recipe.mergeMethod}\``, recipe.mergeMethodSpan);
	}
	const warnings: Diagnostic[] = [];
	const models = [...loaded.values()];
	const model = (reference: ModelReference): LoadedModel => {
		const found = loaded.get(reference.key);
		if (!found) {
			throw new PlanError(`model ${reference.key} was not loaded`, reference.span);
		}
		return found;
	};
	const architecture = chooseArchitecture(models, options.allowCrimes);
	if (architecture.inferred) {
		warnings.push({
			severity: "warning",
			message:
				"no family table matches these models, so the generic rule lays out their tensors: names with `.N.` are layers, everything else is merged as a whole",
		});
	}
	const remapsVocabulary = recipe.tokenizer !== undefined || recipe.tokenizerSource !== undefined;
	checkCompatibleConfigs(models, warnings, remapsVocabulary);
	for (const loaded of models) {
		for (const message of loaded.adapter?.warnings ?? []) {
			warnings.push({ severity: "warning", message, span: loaded.reference.span });
		}
	}
	const moduleSlices = moduleForms(recipe, architecture).map((form) => ({
		form,
		slices: buildSlices(recipe, form, model),
	}));
	const sites = moduleSlices.flatMap(({ form, slices }) => tensorSites(form.module, slices));
	const baseReference = recipe.baseModel;
	const seed = options.seed ?? recipe.randomSeed ?? chooseSeed();
	const seedOrigin =
		options.seed !== undefined ? "command line" : recipe.randomSeed !== undefined ? "recipe" : "chosen";
	const outputDtype = recipe.outDtype ?? recipe.dtype;
	const forcedDtype = outputDtype === undefined ? undefined : dtypeFromRecipeName(outputDtype);
	if (forcedDtype !== undefined && !isFloatDtype(forcedDtype)) {
		throw new PlanError(
			`dtype ${outputDtype} cannot hold merged weights; use bfloat16, float16 or float32`,
			recipe.keySpans.out_dtype ?? recipe.keySpans.dtype,
		);
	}

	const recipeDtype = recipe.dtype === undefined ? undefined : dtypeFromRecipeName(recipe.dtype);
	const computeDtype = recipeDtype !== undefined && isFloatDtype(recipeDtype) ? recipeDtype : undefined;
	const donor = baseReference ? model(baseReference) : (models[0] as LoadedModel);
	const vocabSizeKey = architecture.vocabSizeConfigKey ?? "vocab_size";
	const tokenizer = planRecipeTokenizer(recipe, models, donor, vocabSizeKey, options.tokenizers, warnings);
	const embeddings = tokenizer?.remap ? { remap: tokenizer.remap, cache: new Map<string, TokenDefaults>() } : undefined;
	const tensors: PlannedTensor[] = [];
	let randomized = false;
	for (const site of sites) {
		const planned = planTensor(method, site, { output: forcedDtype, compute: computeDtype }, warnings, embeddings);
		if (planned) {
			tensors.push(planned);
			randomized ||= method.isRandomized({
				global: planned.params,
				perModel: planned.models.map((input) => input.params),
			});
		}
	}
	warnUnknownTensors(models, architecture, warnings);
	tensors.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

	const outputConfig = buildOutputConfig(donor, moduleSlices, forcedDtype, warnings);
	if (tokenizer?.remap) {
		setConfigValue(outputConfig, vocabSizeKey, tokenizer.remap.rows);
	}
	let bytesToRead = 0;
	let bytesToWrite = 0;
	let peakTensorBytes = 0;
	for (const tensor of tensors) {
		const inputs = tensor.base ? [tensor.base, ...tensor.models] : tensor.models;
		bytesToRead += inputs.reduce((sum, input) => sum + input.stored.byteLength, 0);
		const count = elementCount(tensor.shape);
		bytesToWrite += count * dtypeSize(tensor.dtype);
		const working = tensor.copyRaw
			? count * dtypeSize(tensor.dtype)
			: inputs.reduce((sum, input) => sum + elementCount(input.stored.shape) * 4, 0) + count * 4;
		peakTensorBytes = Math.max(peakTensorBytes, working);
	}
	return {
		recipe,
		method,
		architecture,
		models,
		baseModel: baseReference ? model(baseReference) : undefined,
		tensors,
		outputConfig,
		donor,
		...(tokenizer ? { tokenizer } : {}),
		seed,
		seedOrigin,
		randomized,
		warnings,
		bytesToRead,
		bytesToWrite,
		peakTensorBytes,
	};
}

function dtypeSize(dtype: SafetensorsDtype): number {
	return dtype === "F32" || dtype === "I32" || dtype === "U32"
		? 4
		: dtype.endsWith("64")
			? 8
			: dtype.endsWith("16")
				? 2
				: 1;
}

/**
 * The recipe's tokenizer plan, from the files `readMergeTokenizers` read. Without them (a preliminary plan of a stage
 * whose inputs are not merged yet) the tokenizer options are left out of the plan.
 */
function planRecipeTokenizer(
	recipe: Recipe,
	models: readonly LoadedModel[],
	donor: LoadedModel,
	vocabSizeKey: string,
	inputs: TokenizerInputs | undefined,
	warnings: Diagnostic[],
): TokenizerPlan | undefined {
	if (inputs === undefined) {
		return undefined;
	}
	return planTokenizer({ recipe, models, donor, vocabSizeKey, inputs, warnings });
}

function layerCount(model: LoadedModel, module: ArchitectureModule): number {
	if (module.numLayersConfigKey !== undefined) {
		const count = model.config[module.numLayersConfigKey];
		if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
			throw new PlanError(
				`${model.reference.key}: config.json has no integer ${module.numLayersConfigKey}`,
				model.reference.span,
			);
		}
		return count;
	}
	let count = 0;
	for (const name of model.tensors.keys()) {
		const match = /\.(\d+)\./.exec(name);
		if (match && (module.layerPrefix === undefined || name.slice(0, match.index) === module.layerPrefix)) {
			count = Math.max(count, Number(match[1]) + 1);
		}
	}
	return count;
}

/** What one module merges: its models or slices, and the parameter levels below the sources' (spec §1.4–§1.6). */
interface ModuleForm {
	module: ArchitectureModule;
	models: readonly InputModel[] | undefined;
	slices: readonly OutputSlice[] | undefined;
	/** Module and top-level parameters, highest precedence first. */
	levels: readonly Parameters[];
	span: SourceSpan;
	/** For messages: `` (one module) or ` of module `vision_tower`` */
	label: string;
}

/**
 * Pairs each module of the layout with what the recipe merges there: `models:` goes to every module, `slices:` only
 * to a one-module layout, and `modules:` must name every module and nothing else.
 */
function moduleForms(recipe: Recipe, architecture: Architecture): ModuleForm[] {
	const modules = architectureModules(architecture);
	const names = modules.map((module) => `\`${module.name}\``).join(", ");
	const span = recipe.keySpans.models ?? recipe.keySpans.slices ?? recipe.mergeMethodSpan;
	if (recipe.modules === undefined) {
		if (recipe.slices !== undefined && modules.length > 1) {
			throw new PlanError(
				`these models have ${modules.length} modules (${names}), each with its own layers, so \`slices:\` cannot say which one it stacks; write the slices under \`modules: {<name>: {slices: [...]}}\`, with \`models:\` for the modules you merge whole`,
				recipe.keySpans.slices,
			);
		}
		return modules.map((module) => ({
			module,
			models: recipe.models,
			slices: recipe.slices,
			levels: [recipe.parameters],
			span,
			label: modules.length > 1 ? ` of module \`${module.name}\`` : "",
		}));
	}
	const written = recipe.modules;
	for (const [name, definition] of Object.entries(written)) {
		if (!modules.some((module) => module.name === name)) {
			const suggestion = suggestName(
				name,
				modules.map((module) => module.name),
			);
			throw new PlanError(
				`\`modules.${name}\` is not a module of these models${suggestion === undefined ? "" : `: did you mean \`${suggestion}\`?`} (${architecture.inferred ? "modules of models no family table knows are the tensor-name prefixes before the layer number" : `a ${architecture.family} model has one module`}: ${names})`,
				definition.span,
			);
		}
	}
	return modules.map((module) => {
		const definition = written[module.name];
		if (definition === undefined) {
			throw new PlanError(
				`\`modules:\` has no entry for module \`${module.name}\`; these models have ${names}, and each needs \`models:\` or \`slices:\``,
				recipe.keySpans.modules,
			);
		}
		return {
			module,
			models: definition.models,
			slices: definition.slices,
			levels: [definition.parameters, recipe.parameters],
			span: definition.span,
			label: ` of module \`${module.name}\``,
		};
	});
}

function checkCompatibleConfigs(
	models: readonly LoadedModel[],
	warnings: Diagnostic[],
	remapsVocabulary: boolean,
): void {
	const first = models[0];
	if (!first) {
		return;
	}
	for (const model of models.slice(1)) {
		const a = first.config.hidden_size;
		const b = model.config.hidden_size;
		if (typeof a === "number" && typeof b === "number" && a !== b) {
			throw new PlanError(
				`${model.reference.key} has hidden_size ${b} but ${first.reference.key} has ${a}; models of different widths cannot be merged`,
				model.reference.span,
			);
		}
		const va = first.config.vocab_size;
		const vb = model.config.vocab_size;
		if (!remapsVocabulary && typeof va === "number" && typeof vb === "number" && va !== vb) {
			warnings.push({
				severity: "warning",
				span: model.reference.span,
				message: `${model.reference.key} has vocab_size ${vb} but ${first.reference.key} has ${va}: embeddings are cut to a common shape (task-arithmetic methods: the base's), and token ids above the smaller vocabulary are lost`,
			});
		}
	}
}

function buildSlices(recipe: Recipe, form: ModuleForm, model: (reference: ModelReference) => LoadedModel): PlanSlice[] {
	const { module } = form;
	if (form.models) {
		const sources: PlanSource[] = form.models.map((input) => {
			const loaded = model(input.model);
			return {
				model: loaded,
				start: 0,
				end: layerCount(loaded, module),
				parameters: input.parameters,
				span: input.span,
			};
		});
		const base = recipe.baseModel;
		if (base && !form.models.some((input) => input.model.key === base.key)) {
			const loaded = model(base);
			sources.push({ model: loaded, start: 0, end: layerCount(loaded, module), parameters: {}, span: base.span });
		}
		const counts = new Set(sources.map((source) => source.end));
		if (counts.size > 1) {
			const detail = sources.map((source) => `${source.model.reference.key} has ${source.end}`).join(", ");
			throw new PlanError(
				`every model of a \`models:\` merge must have the same number of layers${form.label} (${detail}); use \`slices:\` with layer_range to combine models of different depths`,
				form.models[0]?.span,
			);
		}
		return [{ sources, base, levels: form.levels, span: form.span }];
	}
	return (form.slices ?? []).map((slice, index) => {
		const sources = slice.sources.map((source) => {
			const loaded = model(source.model);
			const available = layerCount(loaded, module);
			const [start, end] = source.layerRange ?? [0, available];
			if (end > available) {
				throw new PlanError(
					`slice ${index + 1}${form.label}: layer_range [${start}, ${end}] of ${loaded.reference.key} reaches past its ${available} layers (layer_range is half-open: [0, ${available}] takes them all)`,
					source.span,
				);
			}
			return { model: loaded, start, end, parameters: source.parameters, span: source.span };
		});
		const lengths = new Set(sources.map((source) => source.end - source.start));
		if (lengths.size > 1) {
			throw new PlanError(
				`slice ${index + 1}${form.label}: its sources cover ${[...lengths].join(" and ")} layers; every source of a slice must cover the same number of layers`,
				slice.span,
			);
		}
		return {
			sources,
			base: slice.baseModel ?? recipe.baseModel,
			levels: [slice.parameters, ...form.levels],
			span: slice.span,
		};
	});
}

function tensorSites(architecture: ArchitectureModule, slices: readonly PlanSlice[]): TensorSite[] {
	const sites: TensorSite[] = [];
	const first = slices[0];
	const last = slices[slices.length - 1];
	if (!first || !last) {
		return sites;
	}
	const whole = (template: WeightTemplate, slice: PlanSlice, sliceIndex: number): TensorSite => ({
		template,
		outputName: template.name,
		slice,
		sliceIndex,
		inputName: () => template.name,
		t: 0,
		layer: undefined,
	});
	for (const template of architecture.preWeights) {
		sites.push(whole(template, first, 0));
	}
	let outputLayer = 0;
	slices.forEach((slice, sliceIndex) => {
		const length = (slice.sources[0]?.end ?? 0) - (slice.sources[0]?.start ?? 0);
		for (let offset = 0; offset < length; offset++) {
			const t = length > 1 ? offset / (length - 1) : 1;
			for (const template of architecture.layerWeights) {
				sites.push({
					template,
					outputName: layerWeightName(template.name, outputLayer + offset),
					slice,
					sliceIndex,
					inputName: (source) => layerWeightName(template.name, source.start + offset),
					t,
					layer: { slice: sliceIndex, offset, t },
				});
			}
		}
		outputLayer += length;
	});
	for (const template of architecture.postWeights) {
		sites.push(whole(template, last, slices.length - 1));
	}
	return sites;
}

function findStored(model: LoadedModel, names: readonly string[]): StoredTensor | undefined {
	for (const name of names) {
		const stored = model.tensors.get(name);
		if (stored) {
			return stored;
		}
	}
	return undefined;
}

function resolveParameter(
	def: ParameterDef,
	levels: readonly (Parameters | undefined)[],
	tensorName: string,
	t: number,
	where: string,
): ParameterValue | undefined {
	for (const level of levels) {
		const setting = level?.[def.name];
		if (!setting) {
			continue;
		}
		const raw = evaluateSetting(setting, tensorName, t);
		if (raw === undefined) {
			continue;
		}
		const coerced = coerceParameterValue(raw, def);
		if (!coerced.ok) {
			throw new PlanError(
				`${def.name} = ${JSON.stringify(raw)} for ${where} should be ${coerced.expected}`,
				setting.span,
			);
		}
		return coerced.value;
	}
	return def.default;
}

function planTensor(
	method: MergeMethod,
	site: TensorSite,
	dtypes: { output: SafetensorsDtype | undefined; compute: FloatDtype | undefined },
	warnings: Diagnostic[],
	embeddings?: { remap: EmbeddingRemap; cache: Map<string, TokenDefaults> },
): PlannedTensor | undefined {
	const { template, slice } = site;
	// Later sources of the same model replace earlier ones, keeping the first one's position (mergekit keys inputs by model).
	const bySource = new Map<string, { source: PlanSource; stored: StoredTensor }>();
	let presentUnderOwnName = false;
	for (const source of slice.sources) {
		const inputName = site.inputName(source);
		const ownNames = [inputName, ...(template.aliases ?? [])];
		let stored = findStored(source.model, ownNames);
		if (stored) {
			presentUnderOwnName = true;
		} else {
			stored = findStored(source.model, template.tiedNames ?? []);
		}
		if (!stored) {
			if (template.optional) {
				continue;
			}
			throw new PlanError(
				`tensor ${inputName} is required but ${source.model.reference.key} has no such tensor (${source.model.dir}); is this model of the same architecture as the others?`,
				source.span,
			);
		}
		bySource.set(source.model.reference.key, { source, stored });
	}
	if (!presentUnderOwnName) {
		return undefined;
	}
	const baseKey = slice.base?.key;
	const useBaseAsReference =
		method.baseRole === "reference" || (method.baseRole === "optional-reference" && baseKey !== undefined);
	const globals: Record<string, ParameterValue> = {};
	// Global parameters see the output tensor name; per-model ones each model's input name (spec §1.7).
	for (const def of method.parameters.filter((p) => p.scope === "global")) {
		const value = resolveParameter(def, slice.levels, site.outputName, site.t, site.outputName);
		if (value === undefined && def.required) {
			throw new PlanError(
				`${method.name} needs \`${def.name}\` (${def.description}) but none is set for ${site.outputName}; add it under \`parameters:\``,
				slice.span,
			);
		}
		if (value !== undefined) {
			globals[def.name] = value;
		}
	}
	const inputs: PlannedInput[] = [];
	let base: PlannedInput | undefined;
	for (const [key, { source, stored }] of bySource) {
		const isBase = key === baseKey;
		const params: Record<string, ParameterValue> = {};
		for (const def of method.parameters.filter((p) => p.scope === "per-model")) {
			const value = resolveParameter(
				def,
				[source.parameters, ...slice.levels],
				stored.name,
				site.t,
				`${key} on ${stored.name}`,
			);
			if (value === undefined && def.required && !(isBase && method.baseRole !== "input")) {
				throw new PlanError(
					`${method.name} needs \`${def.name}\` for ${key} (${def.description}) but none is set for ${stored.name}; add it under that model's \`parameters:\` or the top-level \`parameters:\``,
					source.span,
				);
			}
			if (value !== undefined) {
				params[def.name] = value;
			}
		}
		const lora = source.model.adapter?.patches.get(stored.name);
		const input: PlannedInput = { model: key, stored, params, ...(lora === undefined ? {} : { lora }) };
		if (isBase && useBaseAsReference) {
			base = input;
		} else {
			inputs.push(input);
		}
	}
	if (useBaseAsReference && !base && method.requiresBase) {
		throw new PlanError(
			baseKey === undefined
				? `${method.name} needs a base_model: add \`base_model: <the model your fine-tunes started from>\``
				: `${method.name} needs the base model ${baseKey} among this slice's sources for ${site.outputName}; add it to the slice with the same layer_range`,
			slice.span,
		);
	}
	const available = inputs.length + (base && method.modelCount.countsBase ? 1 : 0);
	if (template.optional && available < method.modelCount.min) {
		warnings.push({
			severity: "warning",
			message: `${site.outputName} is left out: only ${available} of the models have it and ${method.name} needs ${method.modelCount.min}`,
		});
		return undefined;
	}
	// With a tokenizer option every embedding is remapped onto the output vocabulary, so the shapes agree (spec §4.3).
	const remapped =
		embeddings && template.isEmbed
			? planEmbeddingRows({
					remap: embeddings.remap,
					tensorName: site.outputName,
					inputs: base ? [base, ...inputs] : inputs,
					base: slice.base?.key,
					cache: embeddings.cache,
					span: slice.span,
				})
			: undefined;
	const shape = remapped ? remapped.shape : outputShape(method, site, base, inputs, warnings);
	const first = base ?? inputs[0];
	if (!first) {
		return undefined;
	}
	const storedDtypes = [base, ...inputs].filter((input) => input !== undefined).map((input) => input.stored.dtype);
	const nonFloat = storedDtypes.find((dtype) => !isFloatDtype(dtype));
	let copyRaw = false;
	if (nonFloat !== undefined) {
		// Only a plain one-input copy can carry integer or 8-bit data through; any arithmetic needs floats.
		const plain = inputs[0]?.params.scale === undefined && inputs[0]?.lora === undefined;
		if (method.baseRole === "ignored" && inputs.length === 1 && plain && !remapped) {
			copyRaw = true;
		} else {
			throw new PlanError(
				`${site.outputName} is stored as ${nonFloat}, which ${method.name} cannot do arithmetic on (only F32, F16 and BF16)`,
				slice.span,
			);
		}
	}
	return {
		name: site.outputName,
		isEmbed: template.isEmbed === true,
		models: inputs,
		base,
		params: globals,
		shape,
		dtype: copyRaw ? first.stored.dtype : (dtypes.output ?? first.stored.dtype),
		computeDtype: dtypes.compute ?? (isFloatDtype(first.stored.dtype) ? first.stored.dtype : undefined),
		copyRaw,
		layer: site.layer,
		...(remapped ? { embeddings: remapped.rows } : {}),
	};
}

/**
 * The output shape under the method's shape policy (spec §2.0.2); models that a policy leaves out of this tensor
 * are removed from `inputs`.
 */
function outputShape(
	method: MergeMethod,
	site: TensorSite,
	base: PlannedInput | undefined,
	inputs: PlannedInput[],
	warnings: Diagnostic[],
): number[] {
	const all = base ? [base, ...inputs] : inputs;
	const reference = (all[0] as PlannedInput).stored.shape;
	const same = (shape: readonly number[]): boolean =>
		shape.length === reference.length && shape.every((dim, i) => dim === reference[i]);
	if (all.every((input) => same(input.stored.shape))) {
		return [...reference];
	}
	const describe = all.map((input) => `${input.model} ${JSON.stringify(input.stored.shape)}`).join(", ");
	const isEmbed = site.template.isEmbed === true;
	if (method.shapePolicy === "crop-to-base" && base) {
		const target = base.stored.shape;
		for (let i = inputs.length - 1; i >= 0; i--) {
			const input = inputs[i] as PlannedInput;
			const shape = input.stored.shape;
			if (shape.length === target.length && shape.every((dim, d) => dim === target[d])) {
				continue;
			}
			if (isEmbed && shape.length === target.length && shape.every((dim, d) => dim >= (target[d] as number))) {
				warnings.push({
					severity: "warning",
					message: `${site.outputName}: using the first ${JSON.stringify(target)} of ${input.model}'s ${JSON.stringify(shape)} (the base's vocabulary)`,
				});
				continue;
			}
			if (isEmbed) {
				throw new PlanError(
					`${site.outputName}: ${input.model}'s ${JSON.stringify(shape)} is smaller than the base's ${JSON.stringify(target)}; task vectors need the base's shape`,
					site.slice.span,
				);
			}
			warnings.push({
				severity: "warning",
				message: `${site.outputName}: skipping ${input.model}, whose shape ${JSON.stringify(shape)} differs from the base's ${JSON.stringify(target)}`,
			});
			inputs.splice(i, 1);
		}
		return [...target];
	}
	if (
		method.shapePolicy === "common-submatrix" &&
		isEmbed &&
		all.every((input) => input.stored.shape.length === reference.length)
	) {
		const common = reference.map((_, d) => Math.min(...all.map((input) => input.stored.shape[d] as number)));
		warnings.push({
			severity: "warning",
			message: `${site.outputName}: shapes differ (${describe}); merging the common ${JSON.stringify(common)} sub-matrix`,
		});
		return common;
	}
	throw new PlanError(
		`${site.outputName}: the models' shapes differ (${describe}), which ${method.name} cannot merge`,
		site.slice.span,
	);
}

/** Warns about tensors a family table does not know: mergekit drops them silently, which hides real problems. */
function warnUnknownTensors(models: readonly LoadedModel[], architecture: Architecture, warnings: Diagnostic[]): void {
	if (architecture.inferred) {
		return;
	}
	const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
	const known = [...architecture.preWeights, ...architecture.layerWeights, ...architecture.postWeights].flatMap(
		(template) =>
			[template.name, ...(template.aliases ?? []), ...(template.tiedNames ?? [])].map(
				(name) => new RegExp(`^${escapeRegExp(name).replace(escapeRegExp("${layer_index}"), "\\d+")}$`),
			),
	);
	for (const model of models) {
		const unknown = [...model.tensors.keys()].filter((name) => !known.some((pattern) => pattern.test(name)));
		if (unknown.length > 0) {
			warnings.push({
				severity: "warning",
				span: model.reference.span,
				message: `${unknown.length} tensor(s) of ${model.reference.key} are not part of the ${architecture.family} layout and are left out (first: ${unknown[0]})`,
			});
		}
	}
}

function buildOutputConfig(
	donor: LoadedModel,
	moduleSlices: readonly { form: ModuleForm; slices: readonly PlanSlice[] }[],
	forcedDtype: SafetensorsDtype | undefined,
	warnings: Diagnostic[],
): Record<string, unknown> {
	const config: Record<string, unknown> = structuredClone(donor.config);
	if (forcedDtype !== undefined) {
		config.torch_dtype = torchDtypeName(forcedDtype);
		if ("dtype" in config) {
			config.dtype = torchDtypeName(forcedDtype);
		}
	}
	// Only stacked slices change a module's depth; the models form keeps the donor's layer count (spec §5.3).
	for (const { form, slices } of moduleSlices) {
		if (form.slices === undefined) {
			continue;
		}
		const total = slices.reduce(
			(sum, slice) => sum + ((slice.sources[0]?.end ?? 0) - (slice.sources[0]?.start ?? 0)),
			0,
		);
		const key =
			form.module.numLayersConfigKey ??
			(moduleSlices.length === 1 && "num_hidden_layers" in config ? "num_hidden_layers" : undefined);
		if (key === undefined) {
			warnings.push({
				severity: "warning",
				message: `the output has ${total} layers${form.label} but its config.json has no layer-count key to record that in`,
			});
		} else {
			config[key] = total;
		}
	}
	return config;
}
