/** What the bot needs from the Hub; implemented over src/hub in production and faked nowhere: tests use the local Hub. */
export interface BotHub {
	/** The bot's own account, read once at start-up (whoami). */
	readonly me: { id: string; name: string };
	/** The author of a comment, looked up in the discussion's events (webhooks carry only the author id). */
	commentAuthor(repo: string, discussion: number, commentId: string): Promise<{ id: string; name: string } | undefined>;
	postComment(repo: string, discussion: number, markdown: string): Promise<{ commentId: string }>;
	editComment(repo: string, discussion: number, commentId: string, markdown: string): Promise<void>;
}
