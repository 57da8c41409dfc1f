import { describeParentChange } from "./describe-parent-change.js";
import type { ChangelogEntry } from "./schedule.js";

/**
 * The commit title and message of a scheduled publication: which parents moved from which revision to which, and
 * any other reason for the re-merge.
 */
export function describeChangelogEntry(entry: ChangelogEntry): { title: string; description: string } {
	const moved = entry.changes.filter((change) => change.from !== undefined);
	const first = entry.changes.length > 0 && moved.length === 0;
	const title = first
		? "Scheduled merge: first publication"
		: moved.length > 0
			? `Re-merge: ${moved.map((change) => change.model).join(", ")} updated`
			: `Re-merge: ${entry.notes[0] ?? "requested"}`;
	const lines = [
		...entry.changes.map((change) => `- ${describeParentChange(change)}`),
		...entry.notes.map((note) => `- ${note}`),
		"",
		`Published by mergesmith for job ${entry.job}.`,
	];
	return { title, description: lines.join("\n") };
}
