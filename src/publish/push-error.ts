/** Publishing to the Hub cannot go ahead, or did not complete: the message says what happened to the repo. */
export class PushError extends Error {
	constructor(message: string, options?: { cause?: unknown }) {
		super(message, options);
		this.name = "PushError";
	}
}
