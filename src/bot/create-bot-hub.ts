import { whoAmI } from "@huggingface/hub";
import { commentDiscussion } from "../hub/comment-discussion.js";
import { editDiscussionComment } from "../hub/edit-discussion-comment.js";
import { getDiscussion } from "../hub/get-discussion.js";
import type { HubParams } from "../hub/hub-params.js";
import type { BotHub } from "./bot-hub.js";

/**
 * The bot's Hub over the real clients. Reads the bot's own account once (the whoami endpoint is rate-limited
 * strictly), so that its own comments can be recognised by author id.
 */
export async function createBotHub(params: HubParams & { accessToken: string }): Promise<BotHub> {
	const account = await whoAmI({
		accessToken: params.accessToken,
		...(params.hubUrl ? { hubUrl: params.hubUrl } : {}),
		...(params.fetch ? { fetch: params.fetch } : {}),
	});
	return {
		me: { id: account.id, name: account.name },
		async commentAuthor(repo, discussion, commentId) {
			const details = await getDiscussion({ ...params, repo, num: discussion });
			// Match the event by id: the latest event may already be someone else's comment.
			const event = details.events.find((candidate) => candidate.id === commentId);
			const author = event?.author;
			return author?._id ? { id: author._id, name: author.name } : undefined;
		},
		async postComment(repo, discussion, markdown) {
			const event = await commentDiscussion({ ...params, repo, num: discussion, comment: markdown });
			return { commentId: event.id };
		},
		async editComment(repo, discussion, commentId, markdown) {
			await editDiscussionComment({ ...params, repo, num: discussion, commentId, content: markdown });
		},
	};
}
