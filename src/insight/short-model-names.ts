/**
 * Short labels for charts and tables: the last path segment of each reference (a Hub id's name, a folder's name),
 * with the revision kept when two labels would otherwise be equal, and numbered when they still are.
 */
export function shortModelNames(models: readonly string[], maxLength = 28): string[] {
	const last = (key: string): string => {
		const [path = key, revision] = key.split("@");
		const name =
			path
				.replace(/[\\/]+$/, "")
				.split(/[\\/]/)
				.pop() || path;
		return revision === undefined ? name : `${name}@${revision.slice(0, 7)}`;
	};
	const cut = (label: string): string => (label.length > maxLength ? `${label.slice(0, maxLength - 1)}…` : label);
	let labels = models.map((model) => cut(last(model.split("@")[0] ?? model)));
	if (new Set(labels).size !== labels.length) {
		labels = models.map((model) => cut(last(model)));
	}
	if (new Set(labels).size !== labels.length) {
		labels = labels.map((label, i) => `${i + 1}. ${label}`);
	}
	return labels;
}
