import { HubApiError } from "./hub-api-error.js";

/**
 * Builds the error for a failed Hub response the way @huggingface/hub does (JSON `error`, else `message`, plus
 * `error_description`; plain text otherwise), keeping `X-Error-Code` and `X-Request-Id` as well.
 */
export async function createApiError(response: Response): Promise<HubApiError> {
	const requestId = response.headers.get("X-Request-Id") ?? undefined;
	const errorCode = response.headers.get("X-Error-Code") ?? undefined;
	let message = response.headers.get("X-Error-Message") ?? `Hub API error with status ${response.status}`;
	let data: unknown;
	const text = await response.text().catch(() => "");
	if (response.headers.get("Content-Type")?.startsWith("application/json")) {
		try {
			data = JSON.parse(text);
		} catch {
			data = { message: text };
		}
		const json = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
		const main = describe(json.error) ?? describe(json.message);
		if (main !== undefined) {
			message = main;
		}
		if (typeof json.error_description === "string") {
			message = `${message}: ${json.error_description}`;
		}
	} else {
		data = { message: text };
		if (text.trim() !== "") {
			message = text.trim();
		}
	}
	const trailer = [`URL: ${response.url}`, requestId ? `Request ID: ${requestId}` : undefined].filter(
		(part) => part !== undefined,
	);
	return new HubApiError({
		message: `${message}. ${trailer.join(". ")}`,
		status: response.status,
		url: response.url,
		requestId,
		errorCode,
		data,
	});
}

/** The Hub sends `error` as a string, or (Python clients say) as a list of strings. */
function describe(value: unknown): string | undefined {
	if (typeof value === "string" && value !== "") {
		return value;
	}
	if (Array.isArray(value) && value.every((item) => typeof item === "string") && value.length > 0) {
		return value.join("; ");
	}
	return undefined;
}
