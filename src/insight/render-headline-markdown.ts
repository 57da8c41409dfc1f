import { formatHeadline } from "./format-headline.js";
import type { ReportHeadline } from "./merge-report.js";
import { CHART_TITLES } from "./render-report-markdown.js";

/**
 * The bot's line about what the merge did: the three headline numbers and links to the charts, which `chartUrl`
 * turns into addresses (e.g. the published repo's `blob/main/<path>`).
 */
export function renderHeadlineMarkdown(
	report: { headline: ReportHeadline; charts: readonly string[] },
	chartUrl: (path: string) => string,
): string {
	const links = report.charts.map((path) => `[${(CHART_TITLES[path] ?? path).toLowerCase()}](${chartUrl(path)})`);
	return `**What the merge did:** ${formatHeadline(report.headline)}${links.length > 0 ? ` · charts: ${links.join(", ")}` : ""}.`;
}
