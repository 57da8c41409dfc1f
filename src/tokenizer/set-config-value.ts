/** Sets a config.json value by (dotted) key, creating nested objects where they are missing. */
export function setConfigValue(config: Record<string, unknown>, key: string, value: unknown): void {
	const parts = key.split(".");
	const last = parts.pop() as string;
	let current = config;
	for (const part of parts) {
		const next = current[part];
		if (typeof next !== "object" || next === null || Array.isArray(next)) {
			current[part] = {};
		}
		current = current[part] as Record<string, unknown>;
	}
	current[last] = value;
}
