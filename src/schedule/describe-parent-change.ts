import type { ParentChange } from "./schedule.js";

const short = (sha: string | undefined): string => (sha === undefined ? "(none)" : sha.slice(0, 12));

/** `org/model: abc123456789 → def456789012`, the same line in the commit message and the card (`code` marks names). */
export function describeParentChange(change: ParentChange, code: (text: string) => string = (text) => text): string {
	if (change.from === undefined) {
		return `${code(change.model)} at ${code(short(change.to))}`;
	}
	if (change.to === undefined) {
		return `${code(change.model)} no longer used (was ${code(short(change.from))})`;
	}
	return `${code(change.model)}: ${code(short(change.from))} → ${code(short(change.to))}`;
}
