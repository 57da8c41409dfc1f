/** Where a schedule was defined; config-file schedules are kept in step with the file at every start. */
export type ScheduleSource = "cli" | "config" | "thread";

export type ScheduleRunner = "local" | "hf-jobs";

/** How a run is submitted as a Hugging Face Job; unset fields take the bot config's `hfJobs` defaults. */
export interface HfJobsSpec {
	/** Hardware flavor, e.g. `cpu-upgrade`, `a10g-small`. */
	flavor?: string;
	/** The Hub's default is 30 minutes, too short for most merges, so mergesmith always sets one. */
	timeoutSeconds?: number;
	/** The account or org the job runs (and is billed) under; default the bot's own account. */
	namespace?: string;
	/** The container image with mergesmith installed (docker/Dockerfile). */
	image?: string;
}

/** A merge defined once that keeps itself current: what to merge, where to publish, and when to look again. */
export interface ScheduleDefinition {
	/** Config-file schedules: their name in the file, which keeps them the same schedule across restarts. */
	name: string | undefined;
	source: ScheduleSource;
	recipe: string;
	/** Lines before the recipe in its comment or file, so that errors name the original line numbers. */
	recipeLineOffset: number;
	/** `owner/name` of the model repo the merge is published to. */
	target: string;
	private: boolean;
	/** `pull-request` opens a pull request on the target for each re-merge instead of committing to main. */
	publish: "commit" | "pull-request";
	cron: string | undefined;
	/** IANA timezone of `cron`; undefined means the bot config's. */
	timezone: string | undefined;
	/** Re-merge when a parent's resolved revision changes. */
	follow: boolean;
	runner: ScheduleRunner;
	hfJobs: HfJobsSpec | undefined;
	/** The Hub repos the recipe reads: the parents `follow` watches. */
	parents: string[];
	/** Schedules defined in a discussion report their re-merges there. */
	thread: { repo: string; discussion: number } | undefined;
	requester: { id: string; name: string };
}

export type ScheduleRunOutcome = "up-to-date" | "queued" | "failed";

/** One check of a schedule: its triggers and what came of it. */
export interface ScheduleRun {
	at: number;
	triggers: string[];
	outcome: ScheduleRunOutcome;
	detail: string | undefined;
	jobId: string | undefined;
}

export interface Schedule extends ScheduleDefinition {
	id: string;
	createdAt: number;
	/** When the cron expression fires next (ms epoch); a time in the past is a run missed while the bot was down. */
	nextCronAt: number | undefined;
	/** When followed parents are next compared by polling, for those whose webhooks the bot does not receive. */
	nextPollAt: number | undefined;
	/** When the pending triggers become due (after the debounce window); undefined when nothing is pending. */
	pendingAt: number | undefined;
	pendingTriggers: string[];
	/** `run-now --force`: merge and publish even if nothing changed. */
	pendingForce: boolean;
	lastRun: ScheduleRun | undefined;
}

/** A parent whose resolved revision moved (from undefined: a new input; to undefined: one no longer used). */
export interface ParentChange {
	model: string;
	from: string | undefined;
	to: string | undefined;
}

/** One publication's line in the card's changelog and the job record. */
export interface ChangelogEntry {
	/** ISO time of the publication. */
	at: string;
	job: string;
	changes: ParentChange[];
	/** Other reasons for the re-merge: the recipe changed, mergesmith's merge math changed, a forced run. */
	notes: string[];
}

/** What a published merge was made from, as its job record keeps it: a later run compares against this. */
export interface PublishedInputs {
	/** Each reference of the recipe (its key) and the commit it resolved to. */
	inputs: Record<string, string>;
	recipeSha256: string | undefined;
	mathVersion: string | undefined;
}

/** What a job made by a schedule carries: why it runs, what it follows, and how it publishes. */
export interface ScheduledRun {
	scheduleId: string;
	triggers: string[];
	/** The last publication of this schedule; undefined for the first. */
	previous: PublishedInputs | undefined;
	publish: "commit" | "pull-request";
	runner: ScheduleRunner;
	hfJobs?: HfJobsSpec;
}
