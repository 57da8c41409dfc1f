import { formatBytes, formatDuration } from "../cli/format-bytes.js";
import { explainPlan } from "../insight/explain-plan.js";
import { renderExplanationMarkdown } from "../insight/render-explanation-markdown.js";
import { MERGE_METHODS } from "../methods/registry.js";
import type { ResourceEstimate } from "../models/estimate-resources.js";
import type { MergePlan } from "../plan/merge-plan.js";
import type { Diagnostic } from "../recipe/recipe.js";
import type { Schedule } from "../schedule/schedule.js";

/** Every bot comment carries this marker, so the bot never answers itself even if author ids were to differ. */
export const BOT_MARKER = "<!-- mergesmith-bot -->";

function withMarker(body: string, jobId?: string): string {
	return `${body.trimEnd()}\n\n${BOT_MARKER}${jobId ? `\n<!-- mergesmith-job: ${jobId} -->` : ""}\n`;
}

export function renderDiagnostics(diagnostics: readonly Diagnostic[]): string {
	const errors = diagnostics.filter((d) => d.severity === "error");
	const warnings = diagnostics.filter((d) => d.severity === "warning");
	const line = (d: Diagnostic): string => `- ${d.span ? `**line ${d.span.line}**: ` : ""}${d.message}`;
	return [
		errors.length > 0
			? `**${errors.length} error${errors.length === 1 ? "" : "s"}** in the recipe:\n\n${errors.map(line).join("\n")}`
			: "",
		warnings.length > 0 ? `${errors.length > 0 ? "\n" : ""}Warnings:\n\n${warnings.map(line).join("\n")}` : "",
	]
		.filter(Boolean)
		.join("\n");
}

export function renderInvalidRecipe(diagnostics: readonly Diagnostic[]): string {
	return withMarker(
		`❌ I can't run this recipe yet.\n\n${renderDiagnostics(diagnostics)}\n\nLine numbers count from the top of your comment. Fix the recipe and comment again.`,
	);
}

export function renderValid(diagnostics: readonly Diagnostic[], summary: string): string {
	return withMarker(
		`✅ The recipe is valid.\n\n${summary}${diagnostics.length > 0 ? `\n\n${renderDiagnostics(diagnostics)}` : ""}`,
	);
}

export interface JobView {
	id: string;
	outputRepo: string;
	method: string;
	queuePosition?: number;
	phase: "queued" | "preparing" | "downloading" | "merging" | "uploading" | "succeeded" | "failed" | "cancelled";
	tensorsDone?: number;
	tensorsTotal?: number;
	bytesDone?: number;
	bytesTotal?: number;
	etaSeconds?: number;
	note?: string;
	error?: string;
	url?: string;
	summary?: string;
	/** The preflight's plan summary, shown until the job finishes. */
	preflight?: string;
}

export function renderJob(view: JobView): string {
	const head = `**mergesmith** · \`${view.method}\` → \`${view.outputRepo}\``;
	const lines: string[] = [head, ""];
	switch (view.phase) {
		case "queued":
			lines.push(`⏳ Queued${view.queuePosition ? ` (position ${view.queuePosition})` : ""}.`);
			break;
		case "preparing":
			lines.push("⚙️ Checking the models on the Hub…");
			break;
		case "downloading":
			lines.push(`⬇️ Downloading: ${formatBytes(view.bytesDone ?? 0)} of ${formatBytes(view.bytesTotal ?? 0)}.`);
			break;
		case "merging":
			lines.push(
				`🔧 Merging: ${view.tensorsDone ?? 0}/${view.tensorsTotal ?? "?"} tensors${view.etaSeconds === undefined ? "" : `, about ${formatDuration(view.etaSeconds)} left`}.`,
			);
			break;
		case "uploading":
			lines.push(
				`⬆️ Uploading to \`${view.outputRepo}\`: ${formatBytes(view.bytesDone ?? 0)} of ${formatBytes(view.bytesTotal ?? 0)}.`,
			);
			break;
		case "succeeded":
			lines.push(`✅ Done: **[${view.outputRepo}](${view.url ?? "#"})**`);
			if (view.summary) {
				lines.push("", view.summary);
			}
			break;
		case "failed":
			lines.push(
				`❌ The merge failed: ${view.error ?? "unknown error"}`,
				"",
				"Nothing was published. Fix what the message says and comment `/merge` again.",
			);
			break;
		case "cancelled":
			lines.push("🛑 Cancelled. Nothing was published.");
			break;
	}
	if (view.preflight && view.phase !== "succeeded") {
		lines.push("", view.preflight);
	}
	if (view.note) {
		lines.push("", `_${view.note}_`);
	}
	lines.push("", `<sub>job \`${view.id}\` · \`/status\` · \`/cancel\`</sub>`);
	return withMarker(lines.join("\n"), view.id);
}

export function renderHelp(botName: string): string {
	const methods = MERGE_METHODS.map((method) => `\`${method.name}\``).join(", ");
	return withMarker(`**mergesmith** merges models from mergekit-style YAML recipes.

- \`/merge [OWNER/NAME] [--private] [--follow]\` with a recipe in a \`\`\`yaml block: check it, merge, and publish to OWNER/NAME (default: a name in @${botName}'s namespace from the base model, the method and the recipe). With \`--follow\` the merge is published again whenever one of its models gets a new commit.
- \`/schedule "0 3 * * *" [OWNER/NAME] [--tz ZONE] [--follow] [--pr]\` with a recipe: check the models on that schedule and merge again when one changed (\`--pr\`: as a pull request). \`/unschedule [ID]\`: stop.
- \`/validate\` with a recipe: only the checks, no merge.
- \`/status\`: the jobs of this thread. \`/cancel\`: cancel them.
- \`/help\`: this message.

Methods: ${methods}.`);
}

export function renderStatus(
	jobs: readonly { id: string; state: string; outputRepo: string }[],
	schedules: readonly Schedule[] = [],
): string {
	const parts: string[] = [];
	if (jobs.length === 0) {
		parts.push("No merge jobs in this thread.");
	} else {
		parts.push(
			[
				"| job | state | output |",
				"| --- | --- | --- |",
				...jobs.map((job) => `| \`${job.id}\` | ${job.state} | \`${job.outputRepo}\` |`),
			].join("\n"),
		);
	}
	if (schedules.length > 0) {
		parts.push(
			[
				"| schedule | triggers | output | last run |",
				"| --- | --- | --- | --- |",
				...schedules.map(
					(schedule) =>
						`| \`${schedule.id}\` | ${describeTriggers(schedule)} | \`${schedule.target}\` | ${schedule.lastRun ? `${schedule.lastRun.outcome}, ${new Date(schedule.lastRun.at).toISOString().slice(0, 16).replace("T", " ")} UTC` : "not yet"} |`,
				),
			].join("\n"),
		);
	}
	return withMarker(parts.join("\n\n"));
}

function describeTriggers(schedule: Schedule): string {
	return [
		schedule.cron === undefined ? "" : `cron \`${schedule.cron}\` (${schedule.timezone ?? "UTC"})`,
		schedule.follow ? "follows its parents" : "",
	]
		.filter(Boolean)
		.join(" and ");
}

/** The answer to `/schedule`: what will be merged, when, and how to stop it. */
export function renderScheduled(schedule: Schedule, debounceSeconds: number): string {
	const when = [
		schedule.nextCronAt === undefined
			? ""
			: `- on cron \`${schedule.cron}\` (${schedule.timezone ?? "UTC"}); next: ${new Date(schedule.nextCronAt).toISOString().slice(0, 16).replace("T", " ")} UTC`,
		schedule.follow
			? `- when one of ${schedule.parents.map((parent) => `\`${parent}\``).join(", ")} gets a new commit (once commits have paused for ${debounceSeconds} s), and now for a first publication`
			: "",
	].filter(Boolean);
	return withMarker(
		[
			`🔁 Scheduled \`${schedule.id}\` → \`${schedule.target}\`${schedule.publish === "pull-request" ? " (as pull requests)" : ""}. It runs:`,
			"",
			...when,
			"",
			"Each run checks the models' revisions first and publishes only if something changed, with a changelog in the commit and the card. `/status` shows its runs; `/unschedule " +
				schedule.id +
				"` stops it.",
		].join("\n"),
	);
}

export function renderMessage(text: string): string {
	return withMarker(text);
}

/** The card's key facts for the bot's final answer: method, inputs with revisions, seed, licence, size. */
export function renderMergeSummary(plan: MergePlan, license: string): string {
	const rows = plan.models.map((model) => {
		const role = model.reference.key === plan.baseModel?.reference.key ? "base" : "merged";
		return `| \`${model.reference.model.path}\` | ${role} | ${model.commit ? `\`${model.commit.slice(0, 12)}\`` : "local"} |`;
	});
	return [
		`**${plan.method.displayName}** · ${plan.tensors.length} tensors · ${formatBytes(plan.bytesToWrite)} · seed ${plan.seed} · licence \`${license}\``,
		"",
		"| input | role | revision |",
		"| --- | --- | --- |",
		...rows,
	].join("\n");
}

export function renderRefusal(reason: string): string {
	return withMarker(`❌ I can't run this merge: ${reason}`);
}

/** The preflight in the first answer: inputs with commits and licences, sizes and estimates. */
export function renderPreflight(plan: MergePlan, estimate: ResourceEstimate): string {
	const rows = plan.models.map((model) => {
		const role = model.reference.key === plan.baseModel?.reference.key ? "base" : "merged";
		return `| \`${model.reference.model.path}\` | ${role} | ${model.commit ? `\`${model.commit.slice(0, 12)}\`` : "-"} | ${model.license ?? "not declared"} |`;
	});
	return [
		"| input | role | revision | licence |",
		"| --- | --- | --- | --- |",
		...rows,
		"",
		`${plan.tensors.length} tensors · ${formatBytes(estimate.downloadBytes)} to download · ${formatBytes(plan.bytesToWrite)} to write · peak memory about ${formatBytes(estimate.peakMemoryBytes)} · about ${formatDuration(estimate.seconds)}`,
		"",
		renderExplanationMarkdown(explainPlan(plan), { details: true }),
	].join("\n");
}
