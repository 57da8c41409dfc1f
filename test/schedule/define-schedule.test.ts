import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBotConfig } from "../../src/bot/bot-config.js";
import { JobStore } from "../../src/bot/job-store.js";
import { parseBotCommand } from "../../src/bot/parse-bot-command.js";
import { defineSchedule } from "../../src/schedule/define-schedule.js";
import { ScheduleStore } from "../../src/schedule/schedule-store.js";
import { Scheduler } from "../../src/schedule/scheduler.js";
import { syncConfigSchedules } from "../../src/schedule/sync-config-schedules.js";
import { runMain } from "../helpers/run-main.js";

// Defining schedules, offline: from a thread's command, the CLI and the config file, and the container image.
const RECIPE =
	"merge_method: slerp\nbase_model: org/a\nmodels:\n  - model: org/a\n  - model: org/b\nparameters:\n  t: 0.5\n";
const operator = { id: "operator", name: "operator" };

let dir: string;
beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), "mergesmith-define-schedule-"));
});
afterAll(async () => {
	await rm(dir, { recursive: true, force: true });
});

describe("defining a schedule", () => {
	it("refuses what could never run, with reasons", () => {
		const define = (input: Partial<Parameters<typeof defineSchedule>[0]>) =>
			defineSchedule(
				{ source: "cli", recipe: { text: RECIPE, lineOffset: 0 }, target: "me/out", requester: operator, ...input },
				{ timezone: "UTC" },
			);
		expect(define({ follow: true })).toMatchObject({ ok: true, definition: { parents: ["org/a", "org/b"] } });
		expect(define({})).toMatchObject({
			ok: false,
			errors: [expect.stringMatching(/needs a cron expression, `follow`/)],
		});
		expect(define({ cron: "0 3 * *" })).toMatchObject({
			ok: false,
			errors: [expect.stringMatching(/`0 3 \* \*` is not a cron expression/)],
		});
		expect(define({ cron: "0 3 * * *", timezone: "Mars/Olympus" })).toMatchObject({
			ok: false,
			errors: [expect.stringMatching(/`Mars\/Olympus` is not a timezone/)],
		});
		expect(define({ follow: true, target: "org/b" })).toMatchObject({
			ok: false,
			errors: [expect.stringMatching(/also an input of the recipe/)],
		});
		expect(
			define({ follow: true, recipe: { text: RECIPE.replace("org/b", "./local-model"), lineOffset: 2 } }),
		).toMatchObject({
			ok: false,
			errors: [expect.stringMatching(/^line 7: `\.\/local-model` is not a Hub repo id/)],
		});
	});

	it("reads /merge --follow, /schedule with a quoted cron and /unschedule from a comment", () => {
		const fenced = `\`\`\`yaml\n${RECIPE}\`\`\``;
		expect(parseBotCommand(`/merge me/out --follow\n${fenced}`, "bot")).toMatchObject({
			kind: "merge",
			outputRepo: "me/out",
			follow: true,
		});
		expect(parseBotCommand(`/schedule "0 3 * * *" me/nightly --tz Europe/Paris --pr\n${fenced}`, "bot")).toMatchObject({
			kind: "schedule",
			cron: "0 3 * * *",
			timezone: "Europe/Paris",
			outputRepo: "me/nightly",
			pullRequest: true,
			follow: false,
		});
		expect(parseBotCommand(`/schedule @daily --follow\n${fenced}`, "bot")).toMatchObject({
			kind: "schedule",
			cron: "@daily",
			follow: true,
		});
		expect(parseBotCommand(`/schedule me/out\n${fenced}`, "bot")).toMatchObject({
			kind: "usage-error",
			message: expect.stringMatching(/needs a cron expression/),
		});
		expect(parseBotCommand(`/schedule 0 3 * * *\n${fenced}`, "bot")).toMatchObject({ kind: "usage-error" });
		expect(parseBotCommand("/unschedule 1a2b3c4d", "bot")).toEqual({ kind: "unschedule", id: "1a2b3c4d" });
	});

	it("keeps config-file schedules in step with the file: added, replaced when edited, removed when gone", async () => {
		await writeFile(join(dir, "nightly.yml"), RECIPE);
		const configFile = join(dir, "bot.yml");
		const schedulesYaml = (cron: string, extra = "") => `schedules:
  - name: nightly
    recipe: nightly.yml
    push: me/nightly
    cron: "${cron}"
    timezone: Europe/Paris
    runner: hf-jobs
    hfJobs: {flavor: a10g-small}
${extra}`;
		await writeFile(
			configFile,
			schedulesYaml("0 3 * * *", "  - {name: follower, recipe: nightly.yml, push: me/follower, follow: true}\n"),
		);
		const config = loadBotConfig(configFile, { dataDir: join(dir, "data") });
		expect(config.schedules[0]?.recipe).toBe(join(dir, "nightly.yml"));
		// No default image: one the operator has not built could not run.
		expect(config.hfJobs).toEqual({ flavor: "cpu-upgrade", timeoutSeconds: 10_800 });

		const store = new ScheduleStore(":memory:");
		const scheduler = new Scheduler({
			schedules: store,
			jobs: new JobStore(":memory:"),
			models: { offline: true },
			log: pino({ level: "silent" }),
			notify: () => undefined,
			debounceMs: 0,
			pollMs: 3_600_000,
			timezone: "UTC",
		});
		const sync = (file: string) =>
			syncConfigSchedules(loadBotConfig(file).schedules, store, scheduler, {
				timezone: "UTC",
				pollMs: 3_600_000,
				now: Date.now(),
			});
		expect(sync(configFile)).toEqual({ added: ["nightly", "follower"], updated: [], removed: [] });
		expect(sync(configFile)).toEqual({ added: [], updated: [], removed: [] });
		const nightly = store.list().find((schedule) => schedule.name === "nightly");
		expect(nightly).toMatchObject({
			source: "config",
			runner: "hf-jobs",
			hfJobs: { flavor: "a10g-small" },
			timezone: "Europe/Paris",
		});

		await writeFile(configFile, schedulesYaml("30 4 * * *"));
		expect(sync(configFile)).toEqual({ added: [], updated: ["nightly"], removed: ["follower"] });
		expect(store.get(nightly?.id ?? "")?.cron).toBe("30 4 * * *");
		expect(store.list()).toHaveLength(1);

		await writeFile(configFile, schedulesYaml("0 3 * * *").replace("push: me/nightly", "push: org/a"));
		expect(() => sync(configFile)).toThrow(/schedule nightly .*also an input of the recipe/);
		await writeFile(configFile, "schedules:\n  - {name: x, recipe: nightly.yml, push: me/x}\n");
		expect(() => loadBotConfig(configFile)).toThrow(/needs `cron`, `follow: true`, or both/);
	});

	it("is added, listed and removed with the CLI in the bot's data folder", async () => {
		const data = join(dir, "cli-data");
		const recipe = join(dir, "cli.yml");
		await writeFile(recipe, RECIPE);
		const bad = await runMain(["schedule", "add", recipe, "--push", "me/out", "--cron", "every day", "--data", data]);
		expect(bad.code).toBe(1);
		expect(bad.stderr).toMatch(/cli\.yml: `every day` is not a cron expression/);
		expect((await runMain(["schedule", "add", recipe, "--data", data])).code).toBe(2);

		const added = await runMain([
			"schedule",
			"add",
			recipe,
			"--push",
			"me/out",
			"--cron",
			"0 3 * * *",
			"--tz",
			"Asia/Tokyo",
			"--pr",
			"--data",
			data,
		]);
		expect(added.code, added.stderr).toBe(0);
		const id = /added schedule ([0-9a-f]+)/.exec(added.stdout)?.[1] ?? "";
		expect(added.stdout).toContain("cron 0 3 * * * (Asia/Tokyo), next");
		const listed = await runMain(["schedule", "list", "--json", "--data", data]);
		expect(JSON.parse(listed.stdout)).toMatchObject([{ id, target: "me/out", publish: "pull-request", source: "cli" }]);
		expect((await runMain(["schedule", "remove", id, "--data", data])).code).toBe(0);
		expect((await runMain(["schedule", "remove", id, "--data", data])).code).toBe(1);
		expect((await runMain(["schedule", "list", "--data", data])).stdout).toBe("no schedules\n");
	});
});

describe("the Hugging Face Jobs image", () => {
	it("has a Dockerfile whose instructions parse, whose sources exist, and that runs the command the bot submits", async () => {
		const root = join(import.meta.dirname, "../..");
		const text = await readFile(join(root, "docker/Dockerfile"), "utf8");
		const instructions = text
			.replace(/\\\n/g, " ")
			.split("\n")
			.map((line) => line.trim())
			.filter((line) => line !== "" && !line.startsWith("#"));
		const known = new Set(["FROM", "WORKDIR", "RUN", "COPY", "ENV", "USER", "CMD", "ENTRYPOINT", "ARG", "LABEL"]);
		for (const line of instructions) {
			expect(known.has(line.split(/\s+/)[0] ?? ""), line).toBe(true);
		}
		expect(instructions[0]).toMatch(/^FROM node:20/);
		const cmd = instructions.find((line) => line.startsWith("CMD "));
		expect(() => JSON.parse(cmd?.slice(4) ?? "")).not.toThrow();
		for (const line of instructions.filter((entry) => entry.startsWith("COPY ") && !entry.includes("--from"))) {
			for (const source of line.split(/\s+/).slice(1, -1)) {
				await expect(
					readFile(join(root, source)).catch((error: NodeJS.ErrnoException) => error.code),
				).resolves.not.toBe("ENOENT");
			}
		}
		expect(text).toContain("ln -s /app/bin/mergesmith.js /usr/local/bin/mergesmith");
	});
});
