import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { z } from "zod";

const HfJobsSchema = z
	.object({
		/** The container image with mergesmith installed, built from docker/Dockerfile and pushed where the Hub can pull it. */
		image: z.string().optional(),
		/** Hardware flavor (`cpu-basic`, `cpu-upgrade`, `a10g-small`, …). */
		flavor: z.string().default("cpu-upgrade"),
		/** Always sent: the Hub's default, 30 minutes, is too short for most merges. */
		timeoutSeconds: z
			.number()
			.int()
			.positive()
			.default(3 * 3600),
		/** Account or org the jobs run under (and are billed to); default the bot's account. */
		namespace: z.string().optional(),
	})
	.strict();

/** A merge kept current, as an operator keeps it in version control (see README, "Scheduled merges"). */
const ScheduleConfigSchema = z
	.object({
		/** Identifies the schedule across restarts and edits of this file. */
		name: z.string().regex(/^[\w.-]+$/),
		/** The recipe file, relative to this config file. */
		recipe: z.string(),
		/** `owner/name` to publish to. */
		push: z.string(),
		cron: z.string().optional(),
		timezone: z.string().optional(),
		follow: z.boolean().default(false),
		/** Open a pull request on the target for each re-merge instead of committing to main. */
		pullRequest: z.boolean().default(false),
		private: z.boolean().default(false),
		runner: z.enum(["local", "hf-jobs"]).default("local"),
		/** Overrides of the `hfJobs` defaults for this schedule. */
		hfJobs: HfJobsSchema.partial().optional(),
	})
	.strict()
	.refine((schedule) => schedule.cron !== undefined || schedule.follow, {
		message: "a schedule needs `cron`, `follow: true`, or both",
	});

const BotConfigSchema = z.object({
	/** Hub user names allowed to request merges, or "*" for everyone. */
	allowedUsers: z.union([z.literal("*"), z.array(z.string())]).default("*"),
	/**
	 * Accounts for which the bot may read private or gated models with its own token; for anyone else such recipes
	 * are refused in the preflight.
	 */
	trustedUsers: z.array(z.string()).default([]),
	/** Repos (`owner/name`) or namespaces (`owner`) whose discussions the bot answers; empty means all it receives. */
	watched: z.array(z.string()).default([]),
	/** Namespace for outputs when a request names none (default: the bot's own account). */
	outputNamespace: z.string().optional(),
	/** Largest total input size in bytes the bot accepts. */
	maxInputBytes: z.number().positive().default(200e9),
	/** Jobs one user may have queued or running at once. */
	maxJobsPerUser: z.number().int().positive().default(2),
	/** Requests one user may make per hour. */
	requestsPerHour: z.number().int().positive().default(10),
	/** Seconds between edits of the progress comment. */
	progressEditSeconds: z.number().positive().default(15),
	/** Folder for the job database and work files. */
	dataDir: z.string().default(".mergesmith"),
	/** Merges kept current by cron and/or by following their parents (kept in step with this file at start-up). */
	schedules: z.array(ScheduleConfigSchema).default([]),
	/** Seconds to wait after a parent's change for more changes, so that several close together make one re-merge. */
	followDebounceSeconds: z.number().nonnegative().default(60),
	/** How often followed parents are compared by polling, for those whose webhooks do not reach the bot. */
	followPollSeconds: z.number().positive().default(3600),
	/** Timezone (IANA) of cron expressions that name none. */
	timezone: z.string().default("UTC"),
	/** Schedules one user may define from discussions. */
	maxSchedulesPerUser: z.number().int().nonnegative().default(3),
	/** Defaults for schedules with `runner: hf-jobs` (Hugging Face Jobs). */
	hfJobs: HfJobsSchema.prefault({}),
});

export type BotConfig = z.infer<typeof BotConfigSchema>;
export type ScheduleConfig = z.infer<typeof ScheduleConfigSchema>;

/** The bot's settings from a YAML/JSON file (optional) with defaults; unknown keys are an error naming them. */
export function loadBotConfig(file?: string, overrides: Partial<BotConfig> = {}): BotConfig {
	const raw: unknown = file ? parse(readFileSync(file, "utf8")) : {};
	const parsed = BotConfigSchema.strict().safeParse({ ...(raw as object), ...overrides });
	if (!parsed.success) {
		const issue = parsed.error.issues[0];
		throw new Error(`${file ?? "bot config"}: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
	}
	// Recipe paths are relative to the config file, so that the file and its recipes move together.
	const base = file ? dirname(resolve(file)) : process.cwd();
	return {
		...parsed.data,
		schedules: parsed.data.schedules.map((schedule) => ({ ...schedule, recipe: resolve(base, schedule.recipe) })),
	};
}
