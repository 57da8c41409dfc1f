import { Template } from "@huggingface/jinja";
import type { MergeMethod, ParameterDef } from "../methods/merge-method.js";
import { findMergeMethod, MERGE_METHODS } from "../methods/registry.js";
import { referencedModels } from "../plan/referenced-models.js";
import { coerceParameterValue } from "./coerce-parameter-value.js";
import { collectMergeGroups, type GroupMember, type MergeGroup, type ParameterLevel } from "./collect-merge-groups.js";
import type { Diagnostic, ParameterSetting, Parameters, Recipe, Scalar, SourceSpan } from "./recipe.js";
import { sortDiagnostics } from "./sort-diagnostics.js";
import { suggestName } from "./suggest-name.js";

/** Methods mergekit once had and removed (spec §1.9), with what replaced them. */
const REMOVED_METHODS: Readonly<Record<string, string>> = {
	consensus_ta: "task_arithmetic",
	consensus_ties: "ties",
};
/** Parameter names old recipes still carry that no method reads any more (spec §1.9). */
const LEGACY_PARAMETERS: Readonly<Record<string, string>> = {
	consensus_method:
		"was read by the 2023 TIES code; since January 2024 each method fixes its own consensus, so it does nothing; delete it",
	embed_slerp: "belongs to the tokenizer code mergekit replaced in July 2024 and does nothing now; delete it",
};
/** Template names mergekit ships (`mergekit/_data/chat_templates/`), plus `auto` (spec §4.4). */
const CHAT_TEMPLATE_NAMES = ["auto", "alpaca", "chatml", "exaone", "llama3", "mistral"];

type ScalarOrGradient = Exclude<ParameterSetting, { kind: "filtered" }>;

/** A numeric value a setting can take, where it was written, and the gradient it belongs to. */
interface Candidate {
	value: number;
	span: SourceSpan | undefined;
	/** The neighbouring anchor when the value is a gradient anchor, for the values between them. */
	next?: number;
}

class DiagnosticList {
	readonly items: Diagnostic[] = [];
	private readonly seen = new Set<string>();
	private readonly file: string | undefined;
	constructor(file: string | undefined) {
		this.file = file;
	}
	add(severity: Diagnostic["severity"], message: string, span: SourceSpan | undefined): void {
		if (this.seen.has(message)) {
			return;
		}
		this.seen.add(message);
		const diagnostic: Diagnostic = { severity, message };
		if (span !== undefined) {
			diagnostic.span = span;
		}
		if (this.file !== undefined) {
			diagnostic.file = this.file;
		}
		this.items.push(diagnostic);
	}
	error(message: string, span?: SourceSpan): void {
		this.add("error", message, span);
	}
	warning(message: string, span?: SourceSpan): void {
		this.add("warning", message, span);
	}
}

/**
 * Every check of a parsed recipe that needs no model files (spec §1, §2.0.1, §2.1): the method
 * and its parameters, value ranges and types, the base model, model counts, slice lengths and
 * the chat template. Everything method-specific comes from the merge-method registry.
 */
export function validateRecipe(recipe: Recipe): Diagnostic[] {
	const out = new DiagnosticList(recipe.file);
	const method = findMergeMethod(recipe.mergeMethod);
	if (method === undefined) {
		reportUnknownMethod(recipe, out);
	}
	checkChatTemplate(recipe, out);
	checkTokenizer(recipe, out);
	const groups = collectMergeGroups(recipe);
	for (const group of groups) {
		checkSliceLengths(group, out);
		checkDuplicateMembers(group, out);
	}
	if (method === undefined) {
		return sortDiagnostics(out.items);
	}
	for (const site of parameterSites(recipe, groups)) {
		checkParameterSite(method, site, out);
	}
	checkBase(recipe, method, groups, out);
	for (const group of groups) {
		checkModelCount(method, group, out);
		checkRequiredParameters(method, group, out);
		checkBaseParametersIgnored(method, group, out);
		checkSparsificationBounds(method, group, out);
	}
	return sortDiagnostics(out.items);
}

function reportUnknownMethod(recipe: Recipe, out: DiagnosticList): void {
	const name = recipe.mergeMethod;
	const line = recipe.mergeMethodSpan.line;
	const replacement = REMOVED_METHODS[name];
	if (replacement !== undefined) {
		const instead = findMergeMethod(replacement) === undefined ? "" : `; use \`${replacement}\` instead`;
		out.error(
			`merge method \`${name}\` at line ${line} was removed from mergekit in February 2025 and no longer runs${instead}`,
			recipe.mergeMethodSpan,
		);
		return;
	}
	const names = MERGE_METHODS.map((known) => known.name);
	const suggestion = suggestName(name, names);
	out.error(
		suggestion === undefined
			? `unknown merge method \`${name}\` at line ${line}; the methods are ${names.map((known) => `\`${known}\``).join(", ")}`
			: `unknown merge method \`${name}\` at line ${line}: did you mean \`${suggestion}\`?`,
		recipe.mergeMethodSpan,
	);
}

function checkChatTemplate(recipe: Recipe, out: DiagnosticList): void {
	const template = recipe.chatTemplate;
	if (template === undefined || CHAT_TEMPLATE_NAMES.includes(template)) {
		return;
	}
	const span = recipe.keySpans.chat_template;
	// mergekit's own test for a literal template; it fails only after the merge is written.
	if (template.length >= 20 && template.includes("{")) {
		const problem = jinjaSyntaxError(template);
		if (problem !== undefined) {
			out.error(
				`the Jinja template in \`chat_template\` at line ${span?.line ?? "?"} does not parse: ${problem}`,
				span,
			);
		}
		return;
	}
	const suggestion = suggestName(template, CHAT_TEMPLATE_NAMES);
	const names = CHAT_TEMPLATE_NAMES.map((name) => `\`${name}\``).join(", ");
	out.error(
		`\`chat_template: ${template}\` at line ${span?.line ?? "?"} is neither a built-in template (${names}) nor a Jinja template (at least 20 characters, containing \`{\`)${suggestion === undefined ? "" : `: did you mean \`${suggestion}\`?`}`,
		span,
	);
}

/** The parser's message for a template @huggingface/jinja cannot read (the engine transformers.js uses), else undefined. */
function jinjaSyntaxError(template: string): string | undefined {
	try {
		new Template(template);
		return undefined;
	} catch (error) {
		// The parser runs off the end of an unclosed block with a TypeError rather than a message of its own.
		return error instanceof TypeError
			? "it ends inside an unclosed block (a `{% for %}` or `{% if %}` without its `{% endfor %}` / `{% endif %}`?)"
			: (error as Error).message;
	}
}

/** Tokens whose embedding comes from a model need that model in the merge (mergekit asserts it mid-merge). */
function checkTokenizer(recipe: Recipe, out: DiagnosticList): void {
	const settings = recipe.tokenizer;
	if (settings === undefined) {
		return;
	}
	const merged = new Set(referencedModels(recipe).map((reference) => reference.key));
	for (const setting of settings.tokens) {
		const source = setting.source;
		if ((source?.kind === "model" || source?.kind === "model_token") && !merged.has(source.model.key)) {
			out.error(
				`the embedding of token ${JSON.stringify(setting.token)} (line ${setting.span.line}) comes from ${source.model.key}, which is not one of the models merged; name a model from \`models:\`, \`slices:\` or \`base_model\``,
				source.model.span,
			);
		}
	}
}

function checkSliceLengths(group: MergeGroup, out: DiagnosticList): void {
	if (group.form !== "slices") {
		return;
	}
	const lengths = group.members.flatMap((member) =>
		member.layerRange === undefined ? [] : [{ member, length: member.layerRange[1] - member.layerRange[0] }],
	);
	const distinct = [...new Set(lengths.map((entry) => entry.length))];
	if (distinct.length <= 1) {
		return;
	}
	const detail = lengths
		.map(({ member, length }) => `\`${member.model.key}\` [${member.layerRange?.join(", ")}] = ${length}`)
		.join(", ");
	out.error(
		`${group.label}: sources cover ${joinWords(distinct.map(String))} layers (${detail}); every source of a slice must cover the same number of layers`,
		group.span,
	);
}

function checkDuplicateMembers(group: MergeGroup, out: DiagnosticList): void {
	const first = new Map<string, GroupMember>();
	for (const member of group.members) {
		const earlier = first.get(member.model.key);
		if (earlier === undefined) {
			first.set(member.model.key, member);
			continue;
		}
		out.warning(
			`\`${member.model.key}\` is listed twice in ${group.label}, at lines ${earlier.span.line} and ${member.span.line}; mergekit keys inputs by model, so only the later entry takes part`,
			member.span,
		);
	}
}

interface ParameterSite {
	parameters: Parameters;
	where: string;
	/** Member-level maps hold per-model parameters only; global ones there are ignored by mergekit. */
	memberLevel: boolean;
}

function parameterSites(recipe: Recipe, groups: readonly MergeGroup[]): ParameterSite[] {
	const sites: ParameterSite[] = [];
	const seen = new Set<Parameters>();
	const add = (parameters: Parameters, where: string, memberLevel: boolean): void => {
		if (!seen.has(parameters)) {
			seen.add(parameters);
			sites.push({ parameters, where, memberLevel });
		}
	};
	add(recipe.parameters, "parameters", false);
	for (const group of groups) {
		for (const member of group.members) {
			if (member.parameters !== undefined) {
				add(member.parameters, `${member.where}.parameters`, true);
			}
		}
		for (const level of group.levels) {
			add(level.parameters, level.where, false);
		}
	}
	return sites;
}

function checkParameterSite(method: MergeMethod, site: ParameterSite, out: DiagnosticList): void {
	for (const [name, setting] of Object.entries(site.parameters)) {
		const line = setting.span.line;
		const def = method.parameters.find((parameter) => parameter.name === name);
		if (def === undefined) {
			const legacy = LEGACY_PARAMETERS[name];
			if (legacy !== undefined) {
				out.warning(`\`${name}\` at line ${line} ${legacy}`, setting.span);
				continue;
			}
			const names = method.parameters.map((parameter) => parameter.name);
			const suggestion = suggestName(name, names);
			const reads =
				names.length === 0
					? `\`${method.name}\` takes no parameters`
					: `\`${method.name}\` reads ${names.map((known) => `\`${known}\``).join(", ")}`;
			const owners = MERGE_METHODS.filter((other) => other.parameters.some((parameter) => parameter.name === name));
			const elsewhere =
				owners.length === 0 ? "" : ` (it is a parameter of ${owners.map((other) => `\`${other.name}\``).join(", ")})`;
			out.warning(
				suggestion === undefined
					? `\`${name}\` at line ${line} is not a parameter of \`${method.name}\`${elsewhere}; ${reads}. mergekit ignores it silently`
					: `\`${name}\` at line ${line} is not a parameter of \`${method.name}\`: did you mean \`${suggestion}\`? mergekit ignores it silently`,
				setting.span,
			);
			continue;
		}
		if (site.memberLevel && def.scope === "global") {
			out.warning(
				`\`${name}\` is a global parameter of ${method.name}; under ${site.where} (line ${line}) it is ignored — move it to the top-level parameters`,
				setting.span,
			);
		}
		checkSettingValues(name, def, setting, out);
	}
}

function checkSettingValues(name: string, def: ParameterDef, setting: ParameterSetting, out: DiagnosticList): void {
	if (setting.kind === "filtered") {
		for (const entry of setting.entries) {
			const label = entry.filter === undefined ? "the catch-all entry" : `the entry for filter \`${entry.filter}\``;
			checkScalarOrGradient(name, def, entry.value, label, out);
		}
		return;
	}
	checkScalarOrGradient(name, def, setting, undefined, out);
}

function checkScalarOrGradient(
	name: string,
	def: ParameterDef,
	setting: ScalarOrGradient,
	entryLabel: string | undefined,
	out: DiagnosticList,
): void {
	const line = setting.span.line;
	const inEntry = entryLabel === undefined ? "" : ` (${entryLabel})`;
	if (setting.kind === "scalar") {
		const coerced = coerceParameterValue(setting.value, def);
		if (!coerced.ok) {
			out.error(
				`\`${name}: ${String(setting.value)}\` at line ${line}${inEntry}: \`${name}\` must be ${coerced.expected}`,
				setting.span,
			);
			return;
		}
		if (typeof coerced.value === "number" && !inRange(coerced.value, def)) {
			out.error(
				`\`${name}: ${formatValue(setting.value)}\` at line ${line}${inEntry} is out of range: \`${name}\` must be ${describeRange(def)}`,
				setting.span,
			);
		}
		return;
	}
	if (def.type !== "number") {
		const expected = def.type === "boolean" ? "true or false" : "a single whole number";
		out.error(
			`\`${name}\` at line ${line}${inEntry} is a gradient (a list), but \`${name}\` must be ${expected}`,
			setting.span,
		);
		return;
	}
	for (const [index, value] of setting.values.entries()) {
		if (!Number.isFinite(value) || !inRange(value, def)) {
			out.error(
				`\`${name}\` at line ${line}${inEntry}: gradient value ${index + 1} (${value}) is out of range: \`${name}\` must be ${describeRange(def)}`,
				setting.span,
			);
		}
	}
}

function inRange(value: number, def: ParameterDef): boolean {
	if (!Number.isFinite(value)) {
		return false;
	}
	const range = def.range;
	if (range === undefined) {
		return true;
	}
	if (range.min !== undefined && (range.minExclusive === true ? value <= range.min : value < range.min)) {
		return false;
	}
	if (range.max !== undefined && (range.maxExclusive === true ? value >= range.max : value > range.max)) {
		return false;
	}
	return true;
}

/** `(0, 1]`, `≥ 0`, `< 1`, or `a finite number`. */
function describeRange(def: ParameterDef): string {
	const range = def.range;
	const kind = def.type === "integer" ? "a whole number" : "a number";
	if (range === undefined || (range.min === undefined && range.max === undefined)) {
		return `${kind}`;
	}
	if (range.min !== undefined && range.max !== undefined) {
		return `in ${range.minExclusive === true ? "(" : "["}${range.min}, ${range.max}${range.maxExclusive === true ? ")" : "]"}`;
	}
	if (range.min !== undefined) {
		return `${kind} ${range.minExclusive === true ? ">" : "≥"} ${range.min}`;
	}
	return `${kind} ${range.maxExclusive === true ? "<" : "≤"} ${range.max}`;
}

function checkBase(recipe: Recipe, method: MergeMethod, groups: readonly MergeGroup[], out: DiagnosticList): void {
	const advice = "Add `base_model: <the model your fine-tunes started from>`";
	if (method.requiresBase) {
		const missing = groups.filter((group) => group.base === undefined);
		if (missing.length > 0 && missing.length === groups.length) {
			out.error(
				`${method.name} needs a base_model: the other models are measured from it. ${advice} at the top level`,
				recipe.mergeMethodSpan,
			);
		} else if (missing.length > 0) {
			out.error(
				`${method.name} needs a base_model, and ${joinWords(missing.map((group) => group.label))} ${missing.length > 1 ? "have" : "has"} none. ${advice} at the top level or on each slice`,
				missing[0]?.span,
			);
		}
		// In the slices form the base is not added for you (spec §1.5): it must be one of the sources.
		for (const group of groups) {
			const base = group.base;
			if (group.form !== "slices" || base === undefined) {
				continue;
			}
			if (!group.members.some((member) => member.model.key === base.key)) {
				out.error(
					`${group.label}: ${method.name} reads the base model \`${base.key}\` in every slice, but it is not one of this slice's sources (mergekit adds it only in the \`models:\` form). Add a source \`- model: ${base.key}\` with a layer_range of the same length`,
					group.span,
				);
			}
		}
	} else if (method.baseRole === "optional-reference") {
		for (const group of groups) {
			const base = group.base;
			if (
				group.form === "slices" &&
				base !== undefined &&
				!group.members.some((member) => member.model.key === base.key)
			) {
				out.warning(
					`${group.label}: base_model \`${base.key}\` is not one of this slice's sources, so its tensors are missing there; add it as a source or remove base_model`,
					group.span,
				);
			}
		}
	}
	if (method.baseRole === "ignored") {
		const spans = [recipe.baseModel, ...groups.filter((group) => group.baseFromSlice).map((group) => group.base)];
		for (const base of spans) {
			if (base !== undefined) {
				out.warning(
					`base_model \`${base.key}\` at line ${base.span.line} does nothing for ${method.name}; delete it`,
					base.span,
				);
			}
		}
	}
}

function checkModelCount(method: MergeMethod, group: MergeGroup, out: DiagnosticList): void {
	const { min, max, countsBase } = method.modelCount;
	const base = group.base;
	const keys = [...new Set(group.members.map((member) => member.model.key))];
	const counted = countsBase || base === undefined ? keys : keys.filter((key) => key !== base.key);
	const count = counted.length;
	if (count >= min && (max === undefined || count <= max)) {
		return;
	}
	const amount = max === undefined ? `at least ${min}` : max === min ? `exactly ${min}` : `between ${min} and ${max}`;
	const noun = max === 1 && min === 1 ? "model" : "models";
	const whose =
		base === undefined || method.baseRole === "ignored"
			? ""
			: countsBase
				? ", counting the base model"
				: " besides the base model";
	const autoAdded = group.members.find((member) => member.autoAdded);
	const added =
		autoAdded !== undefined && countsBase
			? `; base_model \`${autoAdded.model.key}\` counts because mergekit adds it to the models list`
			: "";
	const listed = count === 0 ? "none" : `${count}: ${counted.map((key) => `\`${key}\``).join(", ")}`;
	out.error(`${method.name} merges ${amount} ${noun}${whose}; ${group.label} has ${listed}${added}`, group.span);
}

function checkRequiredParameters(method: MergeMethod, group: MergeGroup, out: DiagnosticList): void {
	const base = group.base;
	for (const def of method.parameters) {
		if (def.required !== true || def.default !== undefined) {
			continue;
		}
		if (def.scope === "global") {
			const coverage = coverageOf(group.levels, def.name);
			if (coverage.kind === "none") {
				out.error(
					`${method.name} needs \`${def.name}\`, and ${group.label} gets none: add \`${def.name}: <number>\` to the top-level \`parameters:\`${group.form === "slices" ? " or to the slice's `parameters:`" : ""} (a global parameter under a model's parameters is ignored)`,
					group.span,
				);
			} else if (coverage.kind === "partial") {
				out.warning(partialMessage(def.name, group.label, coverage), coverage.span);
			}
			continue;
		}
		for (const member of group.members) {
			const isBase = base !== undefined && member.model.key === base.key;
			// mergekit never requires per-model parameters of the base; only a method that averages the base in reads them.
			if (isBase && method.baseRole !== "input") {
				continue;
			}
			const levels =
				member.parameters === undefined
					? group.levels
					: [{ parameters: member.parameters, where: "" }, ...group.levels];
			const coverage = coverageOf(levels, def.name);
			if (coverage.kind === "none") {
				out.error(
					member.autoAdded
						? `${method.name} merges base_model \`${member.model.key}\` (line ${member.span.line}) like any other model, and it has no \`${def.name}\`: list it under \`models:\` with \`parameters: {${def.name}: ...}\`, or remove base_model`
						: `${method.name} needs \`${def.name}\` for every model, and \`${member.model.key}\` (${member.where}, line ${member.span.line}) has none: add \`${def.name}: <number>\` under its \`parameters:\`, or set \`${def.name}\` in the top-level \`parameters:\` for all models`,
					member.span,
				);
			} else if (coverage.kind === "partial") {
				out.warning(
					partialMessage(def.name, `\`${member.model.key}\` (line ${member.span.line})`, coverage),
					coverage.span,
				);
			}
		}
	}
}

type Coverage = { kind: "none" } | { kind: "total" } | { kind: "partial"; filters: string[]; span: SourceSpan };

/**
 * Whether some level gives a parameter a value for every tensor. A filter list without a catch-all
 * entry leaves the tensors it does not match to the levels below (spec §1.7).
 */
function coverageOf(levels: readonly ParameterLevel[], name: string): Coverage {
	let partial: Coverage | undefined;
	for (const level of levels) {
		const setting = level.parameters[name];
		if (setting === undefined) {
			continue;
		}
		if (isTotal(setting)) {
			return { kind: "total" };
		}
		if (partial === undefined && setting.kind === "filtered") {
			partial = {
				kind: "partial",
				filters: setting.entries.flatMap((entry) => (entry.filter === undefined ? [] : [entry.filter])),
				span: setting.span,
			};
		}
	}
	return partial ?? { kind: "none" };
}

function isTotal(setting: ParameterSetting): boolean {
	return (
		setting.kind !== "filtered" ||
		setting.entries.some((entry) => entry.filter === undefined || entry.filter === "*" || entry.filter === "")
	);
}

/**
 * Only a warning: the filters might cover every tensor of the model, which only its tensor names
 * can tell; the planner sees those and fails precisely on the first tensor with no value.
 */
function partialMessage(name: string, whom: string, coverage: Extract<Coverage, { kind: "partial" }>): string {
	const filters = coverage.filters.map((filter) => `\`${filter}\``).join(", ");
	return `\`${name}\` at line ${coverage.span.line} is set only for tensors matching ${filters}, and nothing else gives ${whom} a \`${name}\`: any other tensor (embeddings, norms) has none and the merge fails there. Add a last entry \`- value: <number>\` with no filter`;
}

function checkBaseParametersIgnored(method: MergeMethod, group: MergeGroup, out: DiagnosticList): void {
	const base = group.base;
	if (base === undefined || method.baseRole !== "reference") {
		return;
	}
	for (const member of group.members) {
		if (member.model.key !== base.key || member.parameters === undefined) {
			continue;
		}
		const ignored = Object.keys(member.parameters).filter((name) =>
			method.parameters.some((parameter) => parameter.name === name && parameter.scope === "per-model"),
		);
		if (ignored.length > 0) {
			out.warning(
				`${method.name} uses the base model \`${base.key}\` only as the reference the others are measured from, so its ${ignored.map((name) => `\`${name}\``).join(", ")} (${member.where}, line ${member.span.line}) ${ignored.length > 1 ? "are" : "is"} ignored`,
				member.span,
			);
		}
	}
}

/**
 * Sanity of sparsification parameters that only make sense together, recognised by the
 * parameters a method declares rather than by its name: per-model `density` with `epsilon`
 * (DELLA's keep probabilities density ± epsilon must stay inside (0, 1)) and with `gamma`
 * (breadcrumbs drops the `gamma` largest and keeps `density`, so they must fit in 1).
 */
function checkSparsificationBounds(method: MergeMethod, group: MergeGroup, out: DiagnosticList): void {
	const perModel = (name: string): ParameterDef | undefined =>
		method.parameters.find((parameter) => parameter.name === name && parameter.scope === "per-model");
	const density = perModel("density");
	if (density === undefined) {
		return;
	}
	const epsilon = perModel("epsilon");
	const gamma = perModel("gamma");
	if (epsilon === undefined && gamma === undefined) {
		return;
	}
	const base = group.base;
	for (const member of group.members) {
		if (base !== undefined && member.model.key === base.key && method.baseRole !== "input") {
			continue;
		}
		const levels =
			member.parameters === undefined ? group.levels : [{ parameters: member.parameters, where: "" }, ...group.levels];
		const densities = candidates(levels, density);
		const who = `\`${member.model.key}\` (line ${member.span.line})`;
		if (epsilon !== undefined) {
			for (const e of candidates(levels, epsilon)) {
				checkDellaBounds(method.name, densities, e, who, out);
			}
		}
		if (gamma !== undefined) {
			for (const g of candidates(levels, gamma)) {
				for (const d of densities) {
					if (d.value < 1 && d.value + g.value > 1 + 1e-12) {
						out.warning(
							`${method.name}: density ${d.value}${lineOf(d.span)} plus gamma ${g.value}${lineOf(g.span)} is more than 1 for ${who}; breadcrumbs keeps a \`density\` share of the weights after dropping the \`gamma\` share of the largest, so gamma acts as ${round(1 - d.value)}. Keep density + gamma ≤ 1`,
							d.span ?? g.span,
						);
					}
				}
			}
		}
	}
}

function checkDellaBounds(
	methodName: string,
	densities: readonly Candidate[],
	e: Candidate,
	who: string,
	out: DiagnosticList,
): void {
	const epsilonText = `epsilon ${e.value}${e.span === undefined ? " (the default)" : lineOf(e.span)}`;
	for (const d of densities) {
		if (d.value > 0 && d.value < 1 && (d.value - e.value <= 0 || d.value + e.value >= 1)) {
			const limit = round(Math.min(d.value, 1 - d.value));
			out.error(
				`${methodName}: density ${d.value}${lineOf(d.span)} with ${epsilonText} gives ${who} keep probabilities from ${round(d.value - e.value)} to ${round(d.value + e.value)}, but density ± epsilon must stay inside (0, 1). Set epsilon below ${limit}, or density to 1 to keep every weight`,
				d.span ?? e.span,
			);
		}
		if (d.next === undefined) {
			continue;
		}
		// Layers between two gradient anchors take the values in between.
		const low = Math.min(d.value, d.next);
		const high = Math.max(d.value, d.next);
		const hitsLow = low < e.value && high > 0 && low < high;
		const hitsHigh = high > 1 - e.value && low < 1 && low < high;
		if (hitsLow || hitsHigh) {
			const band = hitsHigh ? `[${round(1 - e.value)}, 1)` : `(0, ${round(e.value)}]`;
			out.warning(
				`${methodName}: the density gradient${lineOf(d.span)} runs from ${d.value} to ${d.next}, so some layers of ${who} can get a density in ${band}, where ${epsilonText} pushes density ± epsilon outside (0, 1) and the merge fails. Keep the gradient out of that band or lower epsilon`,
				d.span,
			);
		}
	}
}

/**
 * Every numeric value a per-model parameter can take for one model, walking the precedence
 * levels until one covers every tensor; the method's default joins when none does.
 */
function candidates(levels: readonly ParameterLevel[], def: ParameterDef): Candidate[] {
	const result: Candidate[] = [];
	const addValue = (setting: ScalarOrGradient): void => {
		if (setting.kind === "scalar") {
			const coerced = coerceParameterValue(setting.value, def);
			if (coerced.ok && typeof coerced.value === "number") {
				result.push({ value: coerced.value, span: setting.span });
			}
			return;
		}
		for (const [index, value] of setting.values.entries()) {
			const next = setting.values[index + 1];
			result.push(next === undefined ? { value, span: setting.span } : { value, span: setting.span, next });
		}
	};
	for (const level of levels) {
		const setting = level.parameters[def.name];
		if (setting === undefined) {
			continue;
		}
		if (setting.kind === "filtered") {
			for (const entry of setting.entries) {
				addValue(entry.value);
			}
		} else {
			addValue(setting);
		}
		if (isTotal(setting)) {
			return result;
		}
	}
	if (typeof def.default === "number") {
		result.push({ value: def.default, span: undefined });
	}
	return result;
}

function lineOf(span: SourceSpan | undefined): string {
	return span === undefined ? "" : ` (line ${span.line})`;
}

function round(value: number): number {
	return Math.round(value * 1e6) / 1e6;
}

function formatValue(value: Scalar): string {
	return typeof value === "string" ? `"${value}"` : String(value);
}

function joinWords(words: readonly string[]): string {
	if (words.length <= 1) {
		return words.join("");
	}
	return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}
