/**
 * A Hub request that failed: the HTTP status, the URL, the Hub's request id (quote it to Hugging Face support) and
 * the parsed error body. `errorCode` is the Hub's `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`,
 * `EntryNotFound`, `GatedRepo`), which tells apart failures that share a status.
 */
export class HubApiError extends Error {
	readonly status: number;
	readonly url: string;
	readonly requestId: string | undefined;
	readonly errorCode: string | undefined;
	readonly data: unknown;

	constructor(params: {
		message: string;
		status: number;
		url: string;
		requestId: string | undefined;
		errorCode: string | undefined;
		data: unknown;
	}) {
		super(params.message);
		this.name = "HubApiError";
		this.status = params.status;
		this.url = params.url;
		this.requestId = params.requestId;
		this.errorCode = params.errorCode;
		this.data = params.data;
	}
}
