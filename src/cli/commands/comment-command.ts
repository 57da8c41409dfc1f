import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { BOT_MARKER } from "../../bot/render-reply.js";
import { commentDiscussion } from "../../hub/comment-discussion.js";
import { createDiscussion } from "../../hub/create-discussion.js";
import type { DiscussionCommentEvent } from "../../hub/discussion-types.js";
import { getDiscussion } from "../../hub/get-discussion.js";
import type { HubParams } from "../../hub/hub-params.js";
import { EXIT } from "../exit-codes.js";
import type { CliIo } from "../main.js";

const USAGE =
	'usage: mergesmith comment OWNER/NAME --recipe FILE [--merge-args "OWNER/OUT --private"] [--discussion N] [--follow] [--timeout SECONDS]\n';

/**
 * Talks to the bot the way a person does: posts `/merge` with a recipe in a discussion (a new one unless
 * --discussion), and with --follow prints the bot's answer each time it changes until the job ends.
 */
export async function commentCommand(args: readonly string[], io: CliIo): Promise<number> {
	const { values, positionals } = parseArgs({
		args: [...args],
		allowPositionals: true,
		options: {
			recipe: { type: "string" },
			"merge-args": { type: "string" },
			discussion: { type: "string" },
			follow: { type: "boolean" },
			timeout: { type: "string" },
		},
	});
	const [repo] = positionals;
	if (!repo || !values.recipe || positionals.length > 1) {
		io.stderr.write(USAGE);
		return EXIT.usage;
	}
	const token = io.env.HF_TOKEN;
	if (!token) {
		io.stderr.write("mergesmith comment: set HF_TOKEN to the account that writes the comment\n");
		return EXIT.usage;
	}
	const hub: HubParams = { accessToken: token, ...(io.env.HF_ENDPOINT ? { hubUrl: io.env.HF_ENDPOINT } : {}) };
	const recipe = await readFile(values.recipe, "utf8");
	const body = `${`/merge ${values["merge-args"] ?? ""}`.trimEnd()}\n\n\`\`\`yaml\n${recipe.trimEnd()}\n\`\`\`\n`;
	let num: number;
	if (values.discussion) {
		num = Number(values.discussion);
		await commentDiscussion({ ...hub, repo, num, comment: body });
	} else {
		num = (await createDiscussion({ ...hub, repo, title: "Merge request", description: body })).num;
	}
	io.stdout.write(`posted to ${repo} discussion #${num}\n`);
	if (!values.follow) {
		return EXIT.ok;
	}
	const deadline = Date.now() + Number(values.timeout ?? "600") * 1000;
	const shown = new Map<string, string>();
	while (Date.now() < deadline) {
		const details = await getDiscussion({ ...hub, repo, num });
		const answers = details.events.filter(
			(event): event is DiscussionCommentEvent =>
				event.type === "comment" && event.data.latest.raw.includes(BOT_MARKER),
		);
		for (const answer of answers) {
			const text = answer.data.latest.raw.replace(/<!--[\s\S]*?-->/g, "").trim();
			if (shown.get(answer.id) !== text) {
				shown.set(answer.id, text);
				io.stdout.write(`\n--- bot (${answer.id.slice(0, 8)}) ---\n${text}\n`);
			}
		}
		const last = [...shown.values()].pop() ?? "";
		if (/✅ Done|❌|🛑|✅ The recipe is valid|No merge jobs/.test(last)) {
			return last.includes("❌") ? EXIT.failed : EXIT.ok;
		}
		await new Promise((resolve) => setTimeout(resolve, 1000));
	}
	io.stderr.write("mergesmith comment: no final answer from the bot before the timeout\n");
	return EXIT.failed;
}
