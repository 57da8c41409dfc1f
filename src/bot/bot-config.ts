import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { z } from "zod";

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
});

export type BotConfig = z.infer<typeof BotConfigSchema>;

/** The bot's settings from a YAML/JSON file (optional) with defaults; unknown keys are an error naming them. */
export function loadBotConfig(file?: string, overrides: Partial<BotConfig> = {}): BotConfig {
	const raw: unknown = file ? parse(readFileSync(file, "utf8")) : {};
	const parsed = BotConfigSchema.strict().safeParse({ ...(raw as object), ...overrides });
	if (!parsed.success) {
		const issue = parsed.error.issues[0];
		throw new Error(`${file ?? "bot config"}: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
	}
	return parsed.data;
}
