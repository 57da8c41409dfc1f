import type { Diagnostic, ModelPath, ModelReference, SourceSpan } from "./recipe.js";

export interface ModelReferenceResult {
	/** Undefined when the reference cannot be read at all; the diagnostics then hold an error. */
	reference: ModelReference | undefined;
	diagnostics: Diagnostic[];
}

export interface ModelReferenceOptions {
	/** What the reference is, for messages: `base_model`, `models[2].model`, ... */
	what?: string;
	/** Accept and strip the pre-2024 `model:` prefix (only `tokenizer_source` ever had it, spec §1.9). */
	legacyModelPrefix?: boolean;
}

/**
 * Reads a model reference (spec §1.3): the string form `path[@revision][+lora[@revision]]`, or the
 * dict form `{model: {path, revision}, lora: {path, revision}, override_architecture}`.
 * `value` is the plain YAML value; `span` is where it was written.
 */
export function parseModelReference(
	value: unknown,
	span: SourceSpan,
	options: ModelReferenceOptions = {},
): ModelReferenceResult {
	const what = options.what ?? "model reference";
	const diagnostics: Diagnostic[] = [];
	const fail = (message: string): ModelReferenceResult => {
		diagnostics.push({ severity: "error", message: `${what} at line ${span.line}: ${message}`, span });
		return { reference: undefined, diagnostics };
	};

	if (typeof value === "string") {
		let text = value.trim();
		if (options.legacyModelPrefix === true && text.startsWith("model:")) {
			const stripped = text.slice("model:".length).trim();
			diagnostics.push({
				severity: "warning",
				message: `${what} at line ${span.line}: the \`model:\` prefix is the pre-2024 syntax; reading \`${text}\` as \`${stripped}\` (write just \`${stripped}\`)`,
				span,
			});
			text = stripped;
		}
		const parsed = parseReferenceString(text);
		if (typeof parsed === "string") {
			return fail(parsed);
		}
		return { reference: makeReference(parsed.model, parsed.lora, undefined, span), diagnostics };
	}

	if (isPlainObject(value)) {
		for (const key of Object.keys(value)) {
			if (key !== "model" && key !== "lora" && key !== "override_architecture") {
				diagnostics.push({
					severity: "warning",
					message: `${what} at line ${span.line}: unknown key \`${key}\` in a model reference (it takes \`model\`, \`lora\` and \`override_architecture\`); mergekit ignores it silently`,
					span,
				});
			}
		}
		if (value.model === undefined || value.model === null) {
			return fail("the dict form needs `model: {path: <repo or folder>, revision: <optional>}`");
		}
		const model = parseModelPath(value.model, "model");
		if (typeof model === "string") {
			return fail(model);
		}
		let lora: ModelPath | undefined;
		if (value.lora !== undefined && value.lora !== null) {
			const parsedLora = parseModelPath(value.lora, "lora");
			if (typeof parsedLora === "string") {
				return fail(parsedLora);
			}
			lora = parsedLora;
		}
		const override = value.override_architecture;
		if (override !== undefined && override !== null && typeof override !== "string") {
			return fail("`override_architecture` must be an architecture class name such as `LlamaForCausalLM`");
		}
		const overrideArchitecture = typeof override === "string" && override.trim() !== "" ? override.trim() : undefined;
		return { reference: makeReference(model, lora, overrideArchitecture, span), diagnostics };
	}

	if (value === null || value === undefined) {
		return fail("no model given; write a Hub repo id such as `mistralai/Mistral-7B-v0.1` or a local folder");
	}
	return fail(
		`expected a Hub repo id or local folder (text such as \`org/model\`), not ${describeValue(value)}; quote it if it is a name`,
	);
}

interface ParsedReference {
	model: ModelPath;
	lora: ModelPath | undefined;
}

/** Returns the parts, or the reason the text is not a reference. */
function parseReferenceString(text: string): ParsedReference | string {
	if (text === "") {
		return "the model reference is empty; write a Hub repo id such as `org/model` or a local folder";
	}
	const parts = text.split("+");
	if (parts.length > 2) {
		return `\`${text}\` is not a model reference: \`+\` joins a model and one LoRA adapter (\`org/model+org/lora\`), so it may appear at most once, and this has ${parts.length - 1}`;
	}
	const [modelPart = "", loraPart] = parts;
	const model = parsePathString(modelPart, text, "model");
	if (typeof model === "string") {
		return model;
	}
	if (loraPart === undefined) {
		return { model, lora: undefined };
	}
	const lora = parsePathString(loraPart, text, "LoRA adapter");
	if (typeof lora === "string") {
		return lora;
	}
	return { model, lora };
}

function parsePathString(part: string, whole: string, role: string): ModelPath | string {
	const pieces = part.split("@");
	if (pieces.length > 2) {
		return `\`${whole}\` is not a model reference: \`@\` separates a ${role} from its revision (\`org/model@main\`) and may appear only once per part`;
	}
	const [path = "", revision] = pieces;
	if (path.trim() === "") {
		return `\`${whole}\` is not a model reference: the ${role} name is missing${revision !== undefined ? " before `@`" : " (nothing around `+`)"}`;
	}
	if (revision !== undefined && revision.trim() === "") {
		return `\`${whole}\` is not a model reference: nothing follows \`@\`; give a branch, tag or commit (\`${path}@main\`) or drop the \`@\``;
	}
	return { path: path.trim(), revision: revision?.trim() };
}

function parseModelPath(value: unknown, role: "model" | "lora"): ModelPath | string {
	if (typeof value === "string") {
		const parsed = parsePathString(value.trim(), value.trim(), role === "lora" ? "LoRA adapter" : "model");
		return parsed;
	}
	if (isPlainObject(value)) {
		const { path, revision } = value;
		if (typeof path !== "string" || path.trim() === "") {
			return `\`${role}\` needs a \`path\`: a Hub repo id or a local folder`;
		}
		if (revision !== undefined && revision !== null && typeof revision !== "string" && typeof revision !== "number") {
			return `\`${role}.revision\` must be a branch, tag or commit`;
		}
		const revisionText = revision === undefined || revision === null ? undefined : String(revision).trim();
		return { path: path.trim(), revision: revisionText === "" ? undefined : revisionText };
	}
	return `\`${role}\` must be \`{path: <repo or folder>, revision: <optional>}\`, not ${describeValue(value)}`;
}

function makeReference(
	model: ModelPath,
	lora: ModelPath | undefined,
	overrideArchitecture: string | undefined,
	span: SourceSpan,
): ModelReference {
	const key = lora === undefined ? pathKey(model) : `${pathKey(model)}+${pathKey(lora)}`;
	return { model, lora, overrideArchitecture, key, span };
}

function pathKey(path: ModelPath): string {
	return path.revision === undefined ? path.path : `${path.path}@${path.revision}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describeValue(value: unknown): string {
	if (Array.isArray(value)) {
		return "a list";
	}
	if (typeof value === "object" && value !== null) {
		return "a map";
	}
	return `\`${String(value)}\``;
}
