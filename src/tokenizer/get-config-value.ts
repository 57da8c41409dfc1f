/** A config.json value by key, where a dotted key (`text_config.vocab_size`) walks into nested objects. */
export function getConfigValue(config: Record<string, unknown>, key: string): unknown {
	let current: unknown = config;
	for (const part of key.split(".")) {
		if (typeof current !== "object" || current === null) {
			return undefined;
		}
		current = (current as Record<string, unknown>)[part];
	}
	return current;
}
