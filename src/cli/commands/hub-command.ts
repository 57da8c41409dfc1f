import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { defaultHubSeed, seedHub } from "../../hub-server/seed-hub.js";
import { startHubServer } from "../../hub-server/start-hub-server.js";
import { EXIT } from "../exit-codes.js";
import type { CliIo } from "../main.js";
import { untilSignal } from "../until-signal.js";

const USAGE = "usage: mergesmith hub [--data DIR] [--port N] [--seed]\n";
export const DEFAULT_HUB_PORT = 5050;

function defaultDataDir(env: NodeJS.ProcessEnv): string {
	return join(env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "mergesmith", "hub");
}

/**
 * `mergesmith hub`: a local emulator of the Hugging Face Hub for development and tests, on 127.0.0.1 only.
 * `stop` ends it (tests); by default it runs until Ctrl-C.
 */
export async function hubCommand(
	args: readonly string[],
	io: CliIo,
	stop: Promise<void> = untilSignal(),
): Promise<number> {
	const { values, positionals } = parseArgs({
		args: [...args],
		allowPositionals: true,
		options: {
			data: { type: "string" },
			port: { type: "string" },
			seed: { type: "boolean" },
		},
	});
	const port = Number(values.port ?? DEFAULT_HUB_PORT);
	if (positionals.length > 0 || !Number.isInteger(port) || port < 0 || port > 65_535) {
		io.stderr.write(USAGE);
		return EXIT.usage;
	}
	const dataDir = values.data ?? defaultDataDir(io.env);
	let server: Awaited<ReturnType<typeof startHubServer>>;
	try {
		server = await startHubServer({ dataDir, port, log: (line) => io.stdout.write(`${line}\n`) });
	} catch (error) {
		io.stderr.write(`mergesmith hub: cannot start on 127.0.0.1:${port}: ${(error as Error).message}\n`);
		return EXIT.failed;
	}
	io.stdout.write(`local Hub (an emulator for development and tests, not huggingface.co) at ${server.url}\n`);
	io.stdout.write(`data: ${dataDir}\n`);
	if (values.seed) {
		const seeded = await seedHub(server.store, defaultHubSeed());
		io.stdout.write(`seeded ${seeded.repos.length} repos: ${seeded.repos.map((repo) => repo.id).join(", ")}\n`);
		for (const [user, tokens] of Object.entries(seeded.tokens)) {
			io.stdout.write(`  ${user}: ${tokens.join(", ")}\n`);
		}
	}
	io.stdout.write(`use it with: HF_ENDPOINT=${server.url} HF_TOKEN=hf_… mergesmith …  (Ctrl-C stops it)\n`);
	await stop;
	await server.close();
	return EXIT.ok;
}
