import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { describeParentChange } from "./describe-parent-change.js";
import type { ChangelogEntry } from "./schedule.js";

/**
 * Adds a "Changelog" section to the end of the model card the merge wrote (`README.md` in `outDir`): one entry per
 * publication, newest first, each listing which parent moved from which revision to which.
 */
export async function appendCardChangelog(outDir: string, changelog: readonly ChangelogEntry[]): Promise<void> {
	if (changelog.length === 0) {
		return;
	}
	const code = (text: string): string => `\`${text}\``;
	const sections = changelog.map((entry) =>
		[
			`### ${entry.at.slice(0, 16).replace("T", " ")} UTC`,
			"",
			...entry.changes.map((change) => `- ${describeParentChange(change, code)}`),
			...entry.notes.map((note) => `- ${note}`),
		].join("\n"),
	);
	await appendFile(
		join(outDir, "README.md"),
		`\n## Changelog\n\nThis merge is kept current by mergesmith: it is merged again when its inputs change.\n\n${sections.join("\n\n")}\n`,
	);
}
