import type { LoadedModel, ModelSourceOptions } from "../models/load-model.js";
import { ModelError } from "../models/model-error.js";
import { parseModelReference } from "../recipe/parse-model-reference.js";
import type { Recipe } from "../recipe/recipe.js";
import { chooseChatTemplate } from "./choose-chat-template.js";
import { fetchTokenizerFiles } from "./fetch-tokenizer-files.js";
import { locateTokenizerModel } from "./locate-tokenizer-model.js";
import { readTokenizer } from "./read-tokenizer.js";
import type { ModelTokenizer, TokenizerInputs } from "./tokenizer-data.js";

/**
 * Reads what the recipe's tokenizer options need from disk, before planning: the models' tokenizer files, the
 * tokenizer source's when it is not merged, and the chat template. Undefined when the recipe sets none of
 * `tokenizer_source`, `tokenizer` and `chat_template`.
 */
export async function readMergeTokenizers(
	recipe: Recipe,
	loaded: ReadonlyMap<string, LoadedModel>,
	options: ModelSourceOptions = {},
): Promise<TokenizerInputs | undefined> {
	const source = recipe.tokenizer?.source ?? recipe.tokenizerSource;
	if (source === undefined && recipe.chatTemplate === undefined) {
		return undefined;
	}
	const everyModel = source !== undefined || recipe.chatTemplate === "auto";
	const donorKey = recipe.baseModel?.key ?? [...loaded.keys()][0];
	// An unreadable tokenizer is reported by the planner, which knows whether the merge can do without it.
	const read = async (dir: string): Promise<ModelTokenizer> => {
		try {
			return await readTokenizer(dir);
		} catch (error) {
			const problem = (error as Error).message;
			return {
				dir,
				tokenizer: undefined,
				config: undefined,
				hasSentencePiece: false,
				chatTemplate: undefined,
				problem,
			};
		}
	};
	const models = new Map<string, ModelTokenizer>();
	for (const [key, model] of loaded) {
		if (everyModel || key === donorKey) {
			await fetchTokenizerFiles(model, options);
			models.set(key, await read(model.dir));
		}
	}
	let sourceTokenizer: ModelTokenizer | undefined;
	if (source !== undefined && source !== "union" && source !== "base" && !loaded.has(source)) {
		const span = recipe.tokenizer?.span ?? recipe.keySpans.tokenizer_source ?? recipe.mergeMethodSpan;
		const { reference } = parseModelReference(source, span, { what: "the tokenizer source" });
		if (reference === undefined) {
			throw new ModelError(source, "is not a model reference", span);
		}
		sourceTokenizer = await read(await locateTokenizerModel(reference, options));
	}
	const chatTemplate =
		recipe.chatTemplate === undefined
			? undefined
			: await chooseChatTemplate(
					recipe.chatTemplate,
					[...loaded.keys()].map((key) => models.get(key)?.chatTemplate),
				);
	return { models, source: sourceTokenizer, chatTemplate };
}
