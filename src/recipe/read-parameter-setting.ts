import { isMap, isScalar, isSeq, type Node } from "yaml";
import type { YamlReader } from "./create-yaml-reader.js";
import { parseNumericString } from "./parse-numeric-string.js";
import type { FilteredEntry, ParameterSetting, Scalar, SourceSpan } from "./recipe.js";

type ScalarOrGradient = Exclude<ParameterSetting, { kind: "filtered" }>;

/**
 * Reads one parameter's setting (spec §1.7): a scalar, a gradient (list of numbers) or an ordered
 * list of `{filter, value}` entries. Numeric strings become numbers here, as pydantic does;
 * booleans stay booleans until `coerceParameterValue` knows which type the parameter wants.
 * Returns undefined (with an error reported) when the value fits none of the forms.
 */
export function readParameterSetting(
	reader: YamlReader,
	node: Node | null,
	name: string,
	span: SourceSpan,
): ParameterSetting | undefined {
	if (node !== null && isSeq(node)) {
		const items = reader.items(node);
		if (items.length > 0 && items.every((item) => item !== null && isMap(item))) {
			return readFilteredList(reader, items, name, span);
		}
		if (items.some((item) => item !== null && isMap(item))) {
			reader.error(
				`\`${name}\` at line ${span.line} mixes numbers and \`{filter, value}\` entries; use either a list of numbers (a gradient) or a list of \`- filter: ...\` / \`value: ...\` entries`,
				span,
			);
			return undefined;
		}
		return readScalarOrGradient(reader, node, name, span, items);
	}
	if (node !== null && isMap(node)) {
		const keys = reader.entries(node, `\`${name}\``).map((entry) => entry.key);
		if (keys.includes("value") || keys.includes("filter")) {
			reader.error(
				`\`${name}\` at line ${span.line} is a single \`{filter, value}\` map; filtered settings must be a list (mergekit fails on this with "Unexpected setting value"). Wrap it in a list: put \`- \` before \`filter:\`, or write \`[{filter: ..., value: ...}]\`, and add a last entry \`- value: ...\` for the tensors that match no filter`,
				span,
			);
		} else {
			reader.error(
				`\`${name}\` at line ${span.line} is a map; a parameter takes a number, a list of numbers (a gradient) or a list of \`{filter, value}\` entries`,
				span,
			);
		}
		return undefined;
	}
	return readScalarOrGradient(reader, node, name, span);
}

function readFilteredList(
	reader: YamlReader,
	items: Array<Node | null>,
	name: string,
	span: SourceSpan,
): ParameterSetting | undefined {
	const entries: FilteredEntry[] = [];
	let ok = true;
	for (const [index, item] of items.entries()) {
		if (item === null) {
			continue;
		}
		const entrySpan = reader.span(item, span);
		let filter: string | undefined;
		let value: ScalarOrGradient | undefined;
		let sawValue = false;
		for (const entry of reader.entries(item, `\`${name}\` entry ${index + 1}`)) {
			if (entry.key === "filter") {
				filter = readFilter(reader, entry.value, name, entry.valueSpan);
			} else if (entry.key === "value") {
				sawValue = true;
				const valueItems = entry.value !== null && isSeq(entry.value) ? reader.items(entry.value) : undefined;
				if (valueItems?.some((v) => v !== null && isMap(v))) {
					reader.error(
						`\`${name}\` at line ${entry.valueSpan.line}: a filter entry's \`value\` is a number or a list of numbers; filter lists do not nest`,
						entry.valueSpan,
					);
					ok = false;
					continue;
				}
				value = readScalarOrGradient(reader, entry.value, name, entry.valueSpan, valueItems);
				if (value === undefined) {
					ok = false;
				}
			} else {
				reader.warning(
					`unknown key \`${entry.key}\` at line ${entry.keySpan.line} in a \`${name}\` filter entry (entries take \`filter\` and \`value\`); mergekit ignores it silently`,
					entry.keySpan,
				);
			}
		}
		if (!sawValue) {
			reader.error(
				`\`${name}\` entry ${index + 1} at line ${entrySpan.line} has no \`value\`; write \`value: <number>\` next to its \`filter\``,
				entrySpan,
			);
			ok = false;
			continue;
		}
		if (value !== undefined) {
			entries.push({ filter, value, span: entrySpan });
		}
	}
	return ok ? { kind: "filtered", entries, span } : undefined;
}

function readFilter(reader: YamlReader, node: Node | null, name: string, span: SourceSpan): string | undefined {
	if (node === null) {
		return undefined;
	}
	if (isScalar(node)) {
		return typeof node.value === "string" ? node.value : (node.source ?? String(node.value));
	}
	reader.error(
		`\`${name}\` at line ${span.line}: a \`filter\` is a piece of a tensor name, such as \`mlp\` or \`self_attn\`, not a list or map`,
		span,
	);
	return undefined;
}

/** `resolvedItems`: a list's items when the caller has already followed their aliases (each alias counts once). */
function readScalarOrGradient(
	reader: YamlReader,
	node: Node | null,
	name: string,
	span: SourceSpan,
	resolvedItems?: Array<Node | null>,
): ScalarOrGradient | undefined {
	if (node === null) {
		reader.error(
			`\`${name}\` at line ${span.line} has no value; give a number, a list of numbers (a gradient) or a list of \`{filter, value}\` entries`,
			span,
		);
		return undefined;
	}
	if (isSeq(node)) {
		const items = resolvedItems ?? reader.items(node);
		if (items.length === 0) {
			reader.error(
				`\`${name}\` at line ${span.line} is an empty list; a gradient needs at least one number, such as \`[0, 0.5, 1]\``,
				span,
			);
			return undefined;
		}
		const values: number[] = [];
		for (const [index, item] of items.entries()) {
			const value = item !== null && isScalar(item) ? gradientNumber(scalarValue(item)) : undefined;
			if (value === undefined) {
				const shown = item !== null && isScalar(item) ? `\`${String(scalarValue(item))}\`` : "not a number";
				reader.error(
					`\`${name}\` at line ${span.line}: gradient value ${index + 1} (${shown}) is not a number; a gradient is a list of numbers such as \`[0, 0.5, 1]\``,
					reader.span(item, span),
				);
				return undefined;
			}
			values.push(value);
		}
		return { kind: "gradient", values, span };
	}
	if (isScalar(node)) {
		const raw = scalarValue(node);
		const value = typeof raw === "string" ? (parseNumericString(raw) ?? raw) : raw;
		return { kind: "scalar", value, span };
	}
	reader.error(`\`${name}\` at line ${span.line} has a value that is not a number, a list or text`, span);
	return undefined;
}

function scalarValue(node: { value: unknown; source?: string }): Scalar {
	const { value } = node;
	if (typeof value === "number" || typeof value === "boolean" || typeof value === "string") {
		return value;
	}
	return node.source ?? String(value);
}

/** Gradient anchors are floats to pydantic: numeric strings are read, `true` is 1.0. */
function gradientNumber(value: Scalar): number | undefined {
	if (typeof value === "number") {
		return value;
	}
	if (typeof value === "boolean") {
		return value ? 1 : 0;
	}
	return parseNumericString(value);
}
