import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadBotConfig } from "../../bot/bot-config.js";
import { type RunningBot, startBot } from "../../bot/start-bot.js";
import { hugePagesNote } from "../../engine/huge-pages.js";
import { createWebhook } from "../../hub/create-webhook.js";
import { defaultHubSeed, seedHub } from "../../hub-server/seed-hub.js";
import { type RunningHubServer, startHubServer } from "../../hub-server/start-hub-server.js";
import { EXIT } from "../exit-codes.js";
import type { CliIo } from "../main.js";
import { untilSignal } from "../until-signal.js";

const USAGE = "usage: mergesmith serve [--config FILE] [--port N] [--host ADDR] [--data DIR] [--insecure-no-secret]\n";
const LOCAL_BOT_TOKEN = "hf_mergebot_local_write";
const LOCAL_USER_TOKEN = "hf_alice_local_write";

/**
 * `mergesmith serve`: the merge bot. With HF_TOKEN it serves the Hub at HF_ENDPOINT (default huggingface.co) and
 * needs WEBHOOK_SECRET. Without a token it runs the whole loop locally: a local Hub seeded with tiny models, a
 * webhook to the bot, and a printed command that talks to it.
 */
export async function serveCommand(
	args: readonly string[],
	io: CliIo,
	stop: Promise<void> = untilSignal(),
): Promise<number> {
	const { values, positionals } = parseArgs({
		args: [...args],
		allowPositionals: true,
		options: {
			config: { type: "string" },
			port: { type: "string" },
			host: { type: "string" },
			data: { type: "string" },
			"insecure-no-secret": { type: "boolean" },
		},
	});
	const port = Number(values.port ?? io.env.PORT ?? 3000);
	if (positionals.length > 0 || !Number.isInteger(port)) {
		io.stderr.write(USAGE);
		return EXIT.usage;
	}
	const config = loadBotConfig(values.config, values.data ? { dataDir: values.data } : {});
	const token = io.env.HF_TOKEN;
	let localHub: RunningHubServer | undefined;
	let bot: RunningBot;
	if (token) {
		bot = await startBot({
			config,
			hub: { accessToken: token, ...(io.env.HF_ENDPOINT ? { hubUrl: io.env.HF_ENDPOINT } : {}) },
			secret: io.env.WEBHOOK_SECRET,
			allowNoSecret: values["insecure-no-secret"] === true,
			port,
			host: values.host ?? "0.0.0.0",
		});
		io.stdout.write(
			`mergesmith bot as ${bot.hub.me.name} on port ${port}: point a Hub webhook (domains: discussion, and repo for followed merges) at http://YOUR-HOST:${port}/webhooks/hub with WEBHOOK_SECRET as its secret\n`,
		);
	} else {
		localHub = await startHubServer({ dataDir: join(config.dataDir, "local-hub") });
		await seedHub(localHub.store, defaultHubSeed());
		const secret = randomBytes(16).toString("hex");
		bot = await startBot({
			config,
			hub: { accessToken: LOCAL_BOT_TOKEN, hubUrl: localHub.url },
			secret,
			port,
			host: "127.0.0.1",
		});
		await createWebhook({
			hubUrl: localHub.url,
			accessToken: LOCAL_BOT_TOKEN,
			url: `${bot.url}/webhooks/hub`,
			watched: [{ type: "org", name: "tiny-models" }],
			// "repo" too: commits on followed parents re-merge the schedules that follow them.
			domains: ["discussion", "repo"],
			secret,
		});
		io.stdout.write(
			[
				"mergesmith bot in local mode (no HF_TOKEN): a local Hub emulator, not huggingface.co",
				`  local Hub: ${localHub.url} (seeded with tiny models; data in ${join(config.dataDir, "local-hub")})`,
				`  bot: ${bot.url} as ${bot.hub.me.name}, webhook registered on the org tiny-models`,
				"",
				"In another terminal, post a merge request and follow the thread:",
				`  HF_ENDPOINT=${localHub.url} HF_TOKEN=${LOCAL_USER_TOKEN} node bin/mergesmith.js comment tiny-models/tiny-llama --recipe examples/bot-recipe.yml --follow`,
				"",
			].join("\n"),
		);
	}
	const hugePagesOff = hugePagesNote();
	if (hugePagesOff) {
		io.stderr.write(`${hugePagesOff}\n`);
	}
	await stop;
	await bot.close();
	await localHub?.close();
	return EXIT.ok;
}
