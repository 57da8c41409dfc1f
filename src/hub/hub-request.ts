import { createApiError } from "./create-api-error.js";
import { DEFAULT_HUB_URL, type HubParams } from "./hub-params.js";

/**
 * Sends one request to the Hub with the token as a bearer header and returns the response, or throws the
 * `HubApiError` built from it when its status is not 2xx. `path` starts with `/`.
 */
export async function hubRequest(
	params: HubParams,
	path: string,
	init: { method?: string; json?: unknown; query?: URLSearchParams } = {},
): Promise<Response> {
	if (params.accessToken !== undefined && !params.accessToken.startsWith("hf_")) {
		// @huggingface/hub refuses such tokens before any request; do the same so both fail alike.
		throw new TypeError("Your access token must start with 'hf_'");
	}
	const query = init.query?.toString();
	const url = `${(params.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, "")}${path}${query ? `?${query}` : ""}`;
	const headers: Record<string, string> = { Accept: "application/json" };
	if (params.accessToken !== undefined) {
		headers.Authorization = `Bearer ${params.accessToken}`;
	}
	if (init.json !== undefined) {
		headers["Content-Type"] = "application/json";
	}
	const response = await (params.fetch ?? fetch)(url, {
		method: init.method ?? (init.json === undefined ? "GET" : "POST"),
		headers,
		...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
	});
	if (!response.ok) {
		throw await createApiError(response);
	}
	return response;
}
