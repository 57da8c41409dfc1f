import { isMap, type Node } from "yaml";
import type { YamlReader } from "./create-yaml-reader.js";
import { readParameterSetting } from "./read-parameter-setting.js";
import type { ParameterSetting, Parameters, SourceSpan } from "./recipe.js";

/** Reads a `parameters:` map; `where` names it in messages (`models[1].parameters`). */
export function readParameters(reader: YamlReader, node: Node | null, where: string, span: SourceSpan): Parameters {
	const parameters: Record<string, ParameterSetting> = {};
	if (node === null) {
		return parameters;
	}
	if (!isMap(node)) {
		reader.error(
			`\`${where}\` at line ${span.line} must be a map of parameter names to values, such as \`weight: 0.5\``,
			span,
		);
		return parameters;
	}
	for (const entry of reader.entries(node, where)) {
		const setting = readParameterSetting(reader, entry.value, entry.key, entry.valueSpan);
		if (setting !== undefined) {
			parameters[entry.key] = setting;
		}
	}
	return parameters;
}
