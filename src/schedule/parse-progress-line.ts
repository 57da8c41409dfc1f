import type { JobProgress } from "../bot/job-runner.js";

/** Marks the lines of a merge's output that carry its progress, where a remote run reports through its logs. */
export const PROGRESS_PREFIX = "mergesmith-progress ";

const TYPES = new Set(["phase", "progress", "published", "failed"]);

/** The JobProgress a log line carries, or undefined for any other line (the merge's own output, the platform's). */
export function parseProgressLine(line: string): JobProgress | undefined {
	const start = line.indexOf(PROGRESS_PREFIX);
	if (start < 0) {
		return undefined;
	}
	try {
		const progress = JSON.parse(line.slice(start + PROGRESS_PREFIX.length)) as { type?: unknown };
		return typeof progress.type === "string" && TYPES.has(progress.type) ? (progress as JobProgress) : undefined;
	} catch {
		return undefined;
	}
}
