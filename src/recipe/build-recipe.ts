import { isMap, isNode, isScalar, isSeq, type Node } from "yaml";
import { MERGE_METHODS } from "../methods/registry.js";
import type { YamlEntry, YamlReader } from "./create-yaml-reader.js";
import { parseModelReference } from "./parse-model-reference.js";
import { parseNumericString } from "./parse-numeric-string.js";
import { readParameters } from "./read-parameters.js";
import type {
	InputModel,
	ModelReference,
	ModuleDefinition,
	OutputSlice,
	Parameters,
	Recipe,
	SliceSource,
	SourceSpan,
	TokenEmbeddingSource,
	TokenizerSettings,
	TokenSetting,
} from "./recipe.js";
import { suggestName } from "./suggest-name.js";

const TOP_LEVEL_KEYS = [
	"merge_method",
	"models",
	"slices",
	"modules",
	"base_model",
	"parameters",
	"dtype",
	"out_dtype",
	"tokenizer_source",
	"tokenizer",
	"chat_template",
	"random_seed",
	"name",
];
const MODEL_KEYS = ["model", "parameters"];
const SLICE_KEYS = ["sources", "base_model", "parameters", "residual_weight"];
const SOURCE_KEYS = ["model", "layer_range", "parameters"];
const MODULE_KEYS = ["models", "slices", "parameters"];
const TOKENIZER_KEYS = ["source", "tokens", "pad_to_multiple_of"];
const TOKEN_KEYS = ["source", "force"];

/** `dtype_from_name` accepts exactly these, each optionally prefixed with `torch.` (spec §1.2). */
const DTYPES = ["bfloat16", "float16", "float32", "int64"];
/** Short names people write, and what they mean. */
const DTYPE_ALIASES: Readonly<Record<string, string>> = {
	bf16: "bfloat16",
	fp16: "float16",
	f16: "float16",
	half: "float16",
	fp32: "float32",
	f32: "float32",
	float: "float32",
	single: "float32",
};

/** Keys mergekit once read and now ignores (spec §1.9): say so instead of guessing a typo. */
const LEGACY_KEYS: Readonly<Record<string, string>> = {
	embed_slerp:
		"belongs to the tokenizer code mergekit replaced in July 2024 and does nothing now; delete it (use `tokenizer:` to control embeddings)",
	consensus_method:
		"was read by the 2023 TIES code; since January 2024 each method fixes its own consensus, so it does nothing now; delete it",
};

interface Context {
	reader: YamlReader;
	/** Every parameter name any method reads, to recognise a parameter written outside `parameters:`. */
	parameterNames: ReadonlySet<string>;
}

/** Walks one YAML document into a `Recipe`, reporting schema problems on the reader. Undefined when there is no usable recipe. */
export function buildRecipe(
	reader: YamlReader,
	root: Node | null,
	source: string,
	file: string | undefined,
): Recipe | undefined {
	const documentStart = reader.span(root, { line: 1, column: 1 });
	if (root === null) {
		reader.error("the recipe is empty; it needs at least `merge_method:` and `models:` (or `slices:`)");
		return undefined;
	}
	if (!isMap(root)) {
		reader.error(
			`the recipe at line ${documentStart.line} is ${describeNode(root)}, not a map of keys such as \`merge_method:\` and \`models:\``,
			documentStart,
		);
		return undefined;
	}
	const context: Context = {
		reader,
		parameterNames: new Set(MERGE_METHODS.flatMap((method) => method.parameters.map((parameter) => parameter.name))),
	};

	const entries = reader.entries(root, "");
	const byKey = new Map<string, YamlEntry>(entries.map((entry) => [entry.key, entry]));
	const keySpans: Record<string, SourceSpan> = {};
	for (const entry of entries) {
		keySpans[entry.key] = entry.keySpan;
		if (!TOP_LEVEL_KEYS.includes(entry.key)) {
			warnUnknownKey(context, entry, TOP_LEVEL_KEYS, "the top level");
		}
	}

	const methodEntry = byKey.get("merge_method");
	let mergeMethod: string | undefined;
	if (methodEntry === undefined) {
		reader.error(
			"the recipe has no `merge_method`; add one such as `merge_method: linear` (see `mergesmith methods` for the list)",
			documentStart,
		);
	} else {
		mergeMethod = readText(context, methodEntry, "a method name such as `ties`");
	}

	const baseEntry = byKey.get("base_model");
	const baseModel = baseEntry === undefined ? undefined : readModelReference(context, baseEntry, "base_model");

	const parametersEntry = byKey.get("parameters");
	const parameters =
		parametersEntry === undefined
			? {}
			: readParameters(reader, parametersEntry.value, "parameters", parametersEntry.valueSpan);

	const forms = (["models", "slices", "modules"] as const).filter((key) => byKey.has(key));
	if (forms.length !== 1) {
		const found = forms.map((key) => `\`${key}\` (line ${byKey.get(key)?.keySpan.line ?? "?"})`).join(" and ");
		reader.error(
			forms.length === 0
				? "the recipe lists no models: it needs exactly one of `models:`, `slices:` or `modules:`"
				: `the recipe has both ${found}; it needs exactly one of \`models:\`, \`slices:\` or \`modules:\``,
			forms.length === 0 ? documentStart : byKey.get(forms[1] ?? "models")?.keySpan,
		);
	}
	const modelsEntry = byKey.get("models");
	const slicesEntry = byKey.get("slices");
	const modulesEntry = byKey.get("modules");
	const models = modelsEntry === undefined ? undefined : readModels(context, modelsEntry, "models");
	const slices = slicesEntry === undefined ? undefined : readSlices(context, slicesEntry, "slices");
	const modules = modulesEntry === undefined ? undefined : readModules(context, modulesEntry);

	const dtype = readDtype(context, byKey.get("dtype"));
	const outDtype = readDtype(context, byKey.get("out_dtype"));
	const tokenizerSourceEntry = byKey.get("tokenizer_source");
	const tokenizerSource =
		tokenizerSourceEntry === undefined
			? undefined
			: readTokenizerSource(context, tokenizerSourceEntry, "tokenizer_source");
	const tokenizerEntry = byKey.get("tokenizer");
	const tokenizer = tokenizerEntry === undefined ? undefined : readTokenizer(context, tokenizerEntry);
	if (tokenizerSourceEntry !== undefined && tokenizerEntry !== undefined) {
		reader.error(
			`the recipe sets both \`tokenizer_source\` (line ${tokenizerSourceEntry.keySpan.line}) and \`tokenizer\` (line ${tokenizerEntry.keySpan.line}); mergekit refuses that. Keep one: \`tokenizer: {source: ...}\` is the newer form`,
			tokenizerEntry.keySpan,
		);
	}
	const chatTemplateEntry = byKey.get("chat_template");
	const chatTemplate =
		chatTemplateEntry === undefined
			? undefined
			: readText(context, chatTemplateEntry, "a template name such as `chatml` or a Jinja template");
	const seedEntry = byKey.get("random_seed");
	const randomSeed = seedEntry === undefined ? undefined : readSeed(context, seedEntry);
	const nameEntry = byKey.get("name");
	const name = nameEntry === undefined ? undefined : readName(context, nameEntry);

	if (mergeMethod === undefined) {
		return undefined;
	}
	const recipe: Recipe = {
		mergeMethod,
		mergeMethodSpan: methodEntry?.valueSpan ?? documentStart,
		models,
		slices,
		modules,
		baseModel,
		parameters,
		dtype,
		outDtype,
		tokenizerSource,
		tokenizer,
		chatTemplate,
		randomSeed,
		name,
		source,
		keySpans,
	};
	if (file !== undefined) {
		recipe.file = file;
	}
	return recipe;
}

function warnUnknownKey(context: Context, entry: YamlEntry, allowed: readonly string[], where: string): void {
	const { reader } = context;
	const line = entry.keySpan.line;
	const legacy = LEGACY_KEYS[entry.key];
	if (legacy !== undefined) {
		reader.warning(`\`${entry.key}\` at line ${line} ${legacy}`, entry.keySpan);
		return;
	}
	if (context.parameterNames.has(entry.key) && allowed.includes("parameters")) {
		reader.warning(
			`\`${entry.key}\` at line ${line} is a merge parameter written outside \`parameters:\` (in ${where}); mergekit ignores it there. Move it under \`parameters:\``,
			entry.keySpan,
		);
		return;
	}
	const suggestion = suggestName(entry.key, allowed);
	const hint =
		suggestion === undefined
			? ` (${where} takes ${allowed.map((key) => `\`${key}\``).join(", ")});`
			: `: did you mean \`${suggestion}\`?`;
	reader.warning(`unknown key \`${entry.key}\` at line ${line}${hint} mergekit ignores it silently`, entry.keySpan);
}

function readText(context: Context, entry: YamlEntry, expected: string): string | undefined {
	const { value } = entry;
	if (value !== null && isScalar(value) && typeof value.value === "string") {
		return value.value;
	}
	context.reader.error(
		`\`${entry.key}\` at line ${entry.valueSpan.line} must be ${expected}, not ${describeNode(value)}`,
		entry.valueSpan,
	);
	return undefined;
}

function readModelReference(context: Context, entry: YamlEntry, what: string): ModelReference | undefined {
	const { reader } = context;
	const raw = entry.value === null ? null : reader.toPlain(entry.value);
	const result = parseModelReference(raw, entry.valueSpan, { what });
	for (const diagnostic of result.diagnostics) {
		(diagnostic.severity === "error" ? reader.error : reader.warning)(diagnostic.message, diagnostic.span);
	}
	if (result.reference !== undefined || raw === null || typeof raw === "object") {
		return result.reference;
	}
	// Keep an unreadable reference as written, so later checks (model counts) do not pile up more errors.
	const text = String(raw);
	return {
		model: { path: text, revision: undefined },
		lora: undefined,
		overrideArchitecture: undefined,
		key: text,
		span: entry.valueSpan,
	};
}

function requireEntry(
	context: Context,
	byKey: Map<string, YamlEntry>,
	key: string,
	where: string,
	span: SourceSpan,
): YamlEntry | undefined {
	const entry = byKey.get(key);
	if (entry === undefined) {
		context.reader.error(`${where} at line ${span.line} has no \`${key}:\``, span);
	}
	return entry;
}

function entriesOf(context: Context, node: Node, where: string, allowed: readonly string[]): Map<string, YamlEntry> {
	const byKey = new Map<string, YamlEntry>();
	for (const entry of context.reader.entries(node, where)) {
		byKey.set(entry.key, entry);
		if (!allowed.includes(entry.key)) {
			warnUnknownKey(context, entry, allowed, where);
		}
	}
	return byKey;
}

function readList(context: Context, entry: YamlEntry, what: string): Array<{ node: Node | null; span: SourceSpan }> {
	const { reader } = context;
	const list = entry.value;
	if (list === null) {
		reader.error(`\`${entry.key}\` at line ${entry.keySpan.line} is empty; it needs a list of ${what}`, entry.keySpan);
		return [];
	}
	if (!isSeq(list)) {
		reader.error(
			`\`${entry.key}\` at line ${entry.valueSpan.line} must be a list of ${what} (each starting with \`- \`), not ${describeNode(list)}`,
			entry.valueSpan,
		);
		return [];
	}
	// Spans come from the item as written, so an alias item points at its own line, not its anchor's.
	return list.items.map((raw) => ({
		node: reader.resolve(raw),
		span: reader.span(isNode(raw) ? raw : null, entry.valueSpan),
	}));
}

function readModels(context: Context, entry: YamlEntry, where: string): InputModel[] {
	const { reader } = context;
	const models: InputModel[] = [];
	for (const [index, item] of readList(context, entry, "models (`- model: org/name`)").entries()) {
		const here = `${where}[${index}]`;
		const { node, span } = item;
		if (node !== null && isScalar(node)) {
			const text = String(node.value);
			// `- model org/x` is a missing colon, not a model called "model org/x".
			const name = text.replace(/^model\s+/, "");
			reader.error(
				`${here} at line ${span.line} is just \`${text}\`; each entry is a map: write \`- model: ${name}\` (with \`parameters:\` under it if needed)`,
				span,
			);
			const result = parseModelReference(node.value, span, { what: `${here}.model` });
			if (result.reference !== undefined) {
				models.push({ model: result.reference, parameters: {}, span });
			}
			continue;
		}
		if (node === null || !isMap(node)) {
			reader.error(`${here} at line ${span.line} must be a map with \`model:\` and optional \`parameters:\``, span);
			continue;
		}
		const byKey = entriesOf(context, node, here, MODEL_KEYS);
		const modelEntry = requireEntry(context, byKey, "model", here, span);
		const model = modelEntry === undefined ? undefined : readModelReference(context, modelEntry, `${here}.model`);
		const parametersEntry = byKey.get("parameters");
		const parameters =
			parametersEntry === undefined
				? {}
				: readParameters(reader, parametersEntry.value, `${here}.parameters`, parametersEntry.valueSpan);
		if (model !== undefined) {
			models.push({ model, parameters, span });
		}
	}
	return models;
}

function readSlices(context: Context, entry: YamlEntry, where: string): OutputSlice[] {
	const { reader } = context;
	const slices: OutputSlice[] = [];
	for (const [index, item] of readList(context, entry, "slices (`- sources: [...]`)").entries()) {
		const here = `${where}[${index}]`;
		const { node, span } = item;
		if (node === null || !isMap(node)) {
			reader.error(
				`${here} at line ${span.line} must be a map with \`sources:\` and optional \`base_model:\`, \`parameters:\``,
				span,
			);
			continue;
		}
		const byKey = entriesOf(context, node, here, SLICE_KEYS);
		const sourcesEntry = requireEntry(context, byKey, "sources", here, span);
		const sources: SliceSource[] = [];
		if (sourcesEntry !== undefined) {
			const list = readList(context, sourcesEntry, "sources (`- model: org/name` with `layer_range: [start, end]`)");
			if (list.length === 0 && sourcesEntry.value !== null && isSeq(sourcesEntry.value)) {
				reader.error(
					`${here}.sources at line ${sourcesEntry.valueSpan.line} is an empty list; a slice needs at least one source`,
					sourcesEntry.valueSpan,
				);
			}
			for (const [sourceIndex, sourceItem] of list.entries()) {
				const source = readSource(context, sourceItem.node, sourceItem.span, `${here}.sources[${sourceIndex}]`);
				if (source !== undefined) {
					sources.push(source);
				}
			}
		}
		const baseEntry = byKey.get("base_model");
		const baseModel =
			baseEntry === undefined ? undefined : readModelReference(context, baseEntry, `${here}.base_model`);
		const parametersEntry = byKey.get("parameters");
		const parameters =
			parametersEntry === undefined
				? {}
				: readParameters(reader, parametersEntry.value, `${here}.parameters`, parametersEntry.valueSpan);
		const residual = byKey.get("residual_weight");
		if (residual !== undefined) {
			reader.warning(
				`\`residual_weight\` at line ${residual.keySpan.line} is read by mergekit but never used; it does nothing, so delete it`,
				residual.keySpan,
			);
		}
		slices.push({ sources, baseModel, parameters, span });
	}
	return slices;
}

function readSource(context: Context, node: Node | null, span: SourceSpan, here: string): SliceSource | undefined {
	const { reader } = context;
	if (node === null || !isMap(node)) {
		reader.error(`${here} at line ${span.line} must be a map with \`model:\` and \`layer_range: [start, end]\``, span);
		return undefined;
	}
	const byKey = entriesOf(context, node, here, SOURCE_KEYS);
	const modelEntry = requireEntry(context, byKey, "model", here, span);
	const model = modelEntry === undefined ? undefined : readModelReference(context, modelEntry, `${here}.model`);
	const rangeEntry = byKey.get("layer_range");
	let layerRange: readonly [number, number] | undefined;
	if (rangeEntry === undefined) {
		reader.error(
			`${here} at line ${span.line} has no \`layer_range\`; every slice source needs one, such as \`layer_range: [0, 32]\` (end excluded)`,
			span,
		);
	} else {
		layerRange = readLayerRange(context, rangeEntry, here);
	}
	const parametersEntry = byKey.get("parameters");
	const parameters =
		parametersEntry === undefined
			? {}
			: readParameters(reader, parametersEntry.value, `${here}.parameters`, parametersEntry.valueSpan);
	return model === undefined ? undefined : { model, layerRange, parameters, span };
}

function readLayerRange(context: Context, entry: YamlEntry, here: string): readonly [number, number] | undefined {
	const { reader } = context;
	const line = entry.valueSpan.line;
	const fix = "write it as `[start, end]`, two whole numbers with start ≤ end (the end layer is excluded)";
	if (entry.value === null || !isSeq(entry.value)) {
		reader.error(`${here}.layer_range at line ${line} is ${describeNode(entry.value)}; ${fix}`, entry.valueSpan);
		return undefined;
	}
	const items = reader.items(entry.value);
	const numbers = items.map((item) => (item !== null && isScalar(item) ? layerNumber(item.value) : undefined));
	const [start, end] = numbers;
	if (numbers.length !== 2 || start === undefined || end === undefined) {
		reader.error(`${here}.layer_range at line ${line} is not two layer numbers; ${fix}`, entry.valueSpan);
		return undefined;
	}
	if (start < 0 || end < 0) {
		reader.error(
			`${here}.layer_range at line ${line} has a negative layer number; layers count from 0`,
			entry.valueSpan,
		);
		return undefined;
	}
	if (start > end) {
		reader.error(
			`${here}.layer_range at line ${line} is [${start}, ${end}]: the start is after the end; did you mean [${end}, ${start}]?`,
			entry.valueSpan,
		);
		return undefined;
	}
	return [start, end];
}

/** pydantic's lax int: whole numbers, also as floats (24.0) or numeric strings. */
function layerNumber(value: unknown): number | undefined {
	const number = typeof value === "number" ? value : typeof value === "string" ? parseNumericString(value) : undefined;
	return number !== undefined && Number.isInteger(number) ? number : undefined;
}

function readModules(context: Context, entry: YamlEntry): Readonly<Record<string, ModuleDefinition>> | undefined {
	const { reader } = context;
	if (entry.value === null || !isMap(entry.value)) {
		reader.error(
			`\`modules\` at line ${entry.valueSpan.line} must be a map from module name (such as \`text_decoder\`) to \`{models: [...]}\` or \`{slices: [...]}\``,
			entry.valueSpan,
		);
		return undefined;
	}
	const modules: Record<string, ModuleDefinition> = {};
	for (const moduleEntry of reader.entries(entry.value, "modules")) {
		const here = `modules.${moduleEntry.key}`;
		const span = moduleEntry.valueSpan;
		if (moduleEntry.value === null || !isMap(moduleEntry.value)) {
			reader.error(
				`${here} at line ${span.line} must be a map with \`models:\` or \`slices:\`, and optional \`parameters:\``,
				span,
			);
			continue;
		}
		const byKey = entriesOf(context, moduleEntry.value, here, MODULE_KEYS);
		const modelsEntry = byKey.get("models");
		const slicesEntry = byKey.get("slices");
		if ((modelsEntry === undefined) === (slicesEntry === undefined)) {
			reader.error(
				modelsEntry === undefined
					? `${here} at line ${span.line} needs \`models:\` or \`slices:\``
					: `${here} at line ${span.line} has both \`models:\` and \`slices:\`; a module takes exactly one of them`,
				span,
			);
		}
		const parametersEntry = byKey.get("parameters");
		modules[moduleEntry.key] = {
			models: modelsEntry === undefined ? undefined : readModels(context, modelsEntry, `${here}.models`),
			slices: slicesEntry === undefined ? undefined : readSlices(context, slicesEntry, `${here}.slices`),
			parameters:
				parametersEntry === undefined
					? ({} satisfies Parameters)
					: readParameters(reader, parametersEntry.value, `${here}.parameters`, parametersEntry.valueSpan),
			span,
		};
	}
	return modules;
}

function readDtype(context: Context, entry: YamlEntry | undefined): string | undefined {
	if (entry === undefined) {
		return undefined;
	}
	const text = readText(context, entry, `one of ${DTYPES.map((name) => `\`${name}\``).join(", ")}`);
	if (text === undefined) {
		return undefined;
	}
	const bare = text.trim().replace(/^torch\./, "");
	if (DTYPES.includes(bare)) {
		return text.trim();
	}
	const suggestion = DTYPE_ALIASES[bare.toLowerCase()] ?? suggestName(bare, DTYPES);
	const accepted = DTYPES.map((name) => `\`${name}\``).join(", ");
	context.reader.error(
		`\`${entry.key}: ${text}\` at line ${entry.valueSpan.line} is not a dtype mergekit accepts${suggestion === undefined ? "" : `: did you mean \`${suggestion}\`?`} (accepted: ${accepted}, optionally with a \`torch.\` prefix)`,
		entry.valueSpan,
	);
	return undefined;
}

function readTokenizerSource(context: Context, entry: YamlEntry, what: string): string | undefined {
	const { reader } = context;
	const raw = entry.value === null ? null : reader.toPlain(entry.value);
	if (raw === "union" || raw === "base") {
		return raw;
	}
	const result = parseModelReference(raw, entry.valueSpan, { what, legacyModelPrefix: true });
	for (const diagnostic of result.diagnostics) {
		(diagnostic.severity === "error" ? reader.error : reader.warning)(diagnostic.message, diagnostic.span);
	}
	return result.reference?.key;
}

function readTokenizer(context: Context, entry: YamlEntry): TokenizerSettings | undefined {
	const { reader } = context;
	if (entry.value === null || !isMap(entry.value)) {
		reader.error(
			`\`tokenizer\` at line ${entry.valueSpan.line} must be a map such as \`{source: union}\` (keys: ${TOKENIZER_KEYS.join(", ")})`,
			entry.valueSpan,
		);
		return undefined;
	}
	const byKey = entriesOf(context, entry.value, "tokenizer", TOKENIZER_KEYS);
	const sourceEntry = byKey.get("source");
	// mergekit's default when the block is given without a source.
	const source = sourceEntry === undefined ? "union" : readTokenizerSource(context, sourceEntry, "tokenizer.source");
	const padEntry = byKey.get("pad_to_multiple_of");
	let padToMultipleOf: number | undefined;
	if (padEntry !== undefined && padEntry.value !== null) {
		const pad = isScalar(padEntry.value) ? layerNumber(padEntry.value.value) : undefined;
		if (pad === undefined || pad < 1) {
			reader.error(
				`\`tokenizer.pad_to_multiple_of\` at line ${padEntry.valueSpan.line} must be a whole number of at least 1, such as 64`,
				padEntry.valueSpan,
			);
		} else {
			padToMultipleOf = pad;
		}
	}
	const tokensEntry = byKey.get("tokens");
	const tokens: TokenSetting[] = [];
	if (tokensEntry !== undefined && tokensEntry.value !== null) {
		if (isMap(tokensEntry.value)) {
			for (const tokenEntry of reader.entries(tokensEntry.value, "tokenizer.tokens")) {
				const setting = readTokenSetting(context, tokenEntry);
				if (setting !== undefined) {
					tokens.push(setting);
				}
			}
		} else {
			reader.error(
				`\`tokenizer.tokens\` at line ${tokensEntry.keySpan.line} must be a map from token text to its source`,
				tokensEntry.keySpan,
			);
		}
	}
	return source === undefined ? undefined : { source, tokens, padToMultipleOf, span: entry.keySpan };
}

/** `"<tok>": {source: <model> | {kind: model_token, model, token | token_id} | {kind: zero}, force: bool}`. */
function readTokenSetting(context: Context, entry: YamlEntry): TokenSetting | undefined {
	const { reader } = context;
	const here = `tokenizer.tokens[${JSON.stringify(entry.key)}]`;
	const line = entry.keySpan.line;
	if (entry.value === null) {
		return { token: entry.key, source: undefined, force: false, span: entry.keySpan };
	}
	if (!isMap(entry.value)) {
		reader.error(
			`${here} at line ${line} must be a map such as \`{source: org/model}\` (keys: ${TOKEN_KEYS.join(", ")})`,
			entry.valueSpan,
		);
		return undefined;
	}
	const byKey = entriesOf(context, entry.value, here, TOKEN_KEYS);
	let force = false;
	const forceEntry = byKey.get("force");
	if (forceEntry !== undefined && forceEntry.value !== null) {
		const raw = isScalar(forceEntry.value) ? forceEntry.value.value : undefined;
		if (typeof raw === "boolean") {
			force = raw;
		} else {
			reader.error(
				`${here}.force at line ${forceEntry.valueSpan.line} must be \`true\` or \`false\``,
				forceEntry.valueSpan,
			);
		}
	}
	const sourceEntry = byKey.get("source");
	let source: TokenEmbeddingSource | undefined;
	if (sourceEntry !== undefined && sourceEntry.value !== null) {
		const node = sourceEntry.value;
		const entries = isMap(node) ? reader.entries(node, `${here}.source`) : [];
		const kindEntry = entries.find((candidate) => candidate.key === "kind");
		if (kindEntry !== undefined) {
			source = readTokenSource(context, entries, kindEntry, `${here}.source`, sourceEntry.valueSpan);
			if (source === undefined) {
				return undefined;
			}
		} else {
			const model = readModelReference(context, sourceEntry, `${here}.source`);
			if (model === undefined) {
				return undefined;
			}
			source = { kind: "model", model };
		}
	}
	return { token: entry.key, source, force, span: entry.keySpan };
}

function readTokenSource(
	context: Context,
	entries: readonly YamlEntry[],
	kindEntry: YamlEntry,
	here: string,
	span: SourceSpan,
): TokenEmbeddingSource | undefined {
	const { reader } = context;
	const kind = kindEntry.value !== null && isScalar(kindEntry.value) ? kindEntry.value.value : undefined;
	const allowed = kind === "zero" ? ["kind"] : ["kind", "model", "token", "token_id"];
	for (const entry of entries) {
		if (!allowed.includes(entry.key)) {
			warnUnknownKey(context, entry, allowed, here);
		}
	}
	if (kind === "zero") {
		return { kind: "zero" };
	}
	if (kind !== "model_token") {
		reader.error(
			`${here}.kind at line ${kindEntry.valueSpan.line} must be \`model_token\` or \`zero\` (or give \`source\` a model reference)`,
			kindEntry.valueSpan,
		);
		return undefined;
	}
	const byKey = new Map(entries.map((entry) => [entry.key, entry]));
	const modelEntry = requireEntry(context, byKey, "model", here, span);
	const model = modelEntry === undefined ? undefined : readModelReference(context, modelEntry, `${here}.model`);
	const tokenEntry = byKey.get("token");
	const idEntry = byKey.get("token_id");
	if ((tokenEntry === undefined) === (idEntry === undefined)) {
		reader.error(
			`${here} at line ${span.line} needs exactly one of \`token\` (the token text in that model) and \`token_id\` (its row)`,
			span,
		);
		return undefined;
	}
	if (model === undefined) {
		return undefined;
	}
	if (idEntry !== undefined) {
		const id = idEntry.value !== null && isScalar(idEntry.value) ? layerNumber(idEntry.value.value) : undefined;
		if (id === undefined || id < 0) {
			reader.error(
				`${here}.token_id at line ${idEntry.valueSpan.line} must be a whole number of at least 0`,
				idEntry.valueSpan,
			);
			return undefined;
		}
		return { kind: "model_token", model, tokenId: id, span: idEntry.valueSpan };
	}
	const text = tokenEntry?.value !== null && isScalar(tokenEntry?.value) ? tokenEntry.value.value : undefined;
	if (tokenEntry === undefined || (typeof text !== "string" && typeof text !== "number")) {
		reader.error(`${here}.token at line ${tokenEntry?.valueSpan.line ?? span.line} must be the token's text`, span);
		return undefined;
	}
	return { kind: "model_token", model, token: String(text), span: tokenEntry.valueSpan };
}

function readSeed(context: Context, entry: YamlEntry): number | undefined {
	const value = entry.value !== null && isScalar(entry.value) ? layerNumber(entry.value.value) : undefined;
	if (value === undefined || value < 0 || !Number.isSafeInteger(value)) {
		context.reader.error(
			`\`random_seed\` at line ${entry.valueSpan.line} must be a whole number of at least 0, such as 42`,
			entry.valueSpan,
		);
		return undefined;
	}
	return value;
}

function readName(context: Context, entry: YamlEntry): string | undefined {
	const { value } = entry;
	if (value !== null && isScalar(value) && (typeof value.value === "string" || typeof value.value === "number")) {
		return String(value.value);
	}
	context.reader.error(
		`\`name\` at line ${entry.valueSpan.line} must be text, such as \`name: stage-1\``,
		entry.valueSpan,
	);
	return undefined;
}

function describeNode(node: Node | null): string {
	if (node === null) {
		return "empty";
	}
	if (isMap(node)) {
		return "a map";
	}
	if (isSeq(node)) {
		return "a list";
	}
	if (isScalar(node)) {
		return typeof node.value === "string" ? `the text \`${node.value}\`` : `\`${String(node.value)}\``;
	}
	return "something else";
}
