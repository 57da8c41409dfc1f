import { formatPercent } from "./format-percent.js";
import type { ReportHeadline } from "./merge-report.js";

/** One line for logs and the bot: the three headline numbers, leaving out those that do not apply. */
export function formatHeadline(headline: ReportHeadline): string {
	const parts = [
		headline.relativeChange === null ? "" : `change ${formatPercent(headline.relativeChange)} of the base (‖Δ‖/‖B‖)`,
		headline.signConflict === null ? "" : `sign conflict ${formatPercent(headline.signConflict)}`,
		headline.taskVectorCosine === null ? "" : `task-vector cosine ${headline.taskVectorCosine.toFixed(2)}`,
	].filter(Boolean);
	return parts.length > 0 ? parts.join(", ") : "nothing measured (no base model)";
}
