/**
 * The chat template transformers loads for a tokenizer: `chat_template.jinja` when the folder has one, else
 * tokenizer_config.json's `chat_template`, which is a string or a list of `{name, template}` (the `default` one
 * counts, as mergekit takes it). Undefined when there is none.
 */
export function modelChatTemplate(
	config: Record<string, unknown> | undefined,
	jinjaFile: string | undefined,
): string | undefined {
	if (jinjaFile !== undefined) {
		return jinjaFile;
	}
	const template = config?.chat_template;
	if (typeof template === "string") {
		return template;
	}
	if (Array.isArray(template)) {
		for (const entry of template) {
			const named = entry as { name?: unknown; template?: unknown } | null;
			if (named?.name === "default" && typeof named.template === "string") {
				return named.template;
			}
		}
		return undefined;
	}
	if (typeof template === "object" && template !== null) {
		const fallback = (template as Record<string, unknown>).default;
		return typeof fallback === "string" ? fallback : undefined;
	}
	return undefined;
}
