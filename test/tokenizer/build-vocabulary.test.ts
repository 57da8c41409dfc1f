import { describe, expect, it } from "vitest";
import { addTokens, plainAddedToken } from "../../src/tokenizer/add-tokens.js";
import { buildVocabulary } from "../../src/tokenizer/build-vocabulary.js";
import { embeddingPermutation } from "../../src/tokenizer/embedding-permutation.js";
import { indexTokenizer } from "../../src/tokenizer/index-tokenizer.js";
import { stripTokenizer } from "../../src/tokenizer/strip-tokenizer.js";
import type { FastTokenizer } from "../../src/tokenizer/tokenizer-data.js";
import { vocabularyTokens } from "../../src/tokenizer/vocabulary-tokens.js";

/** mergekit's `make_tokenizer`: `<unk>`, `<s>`, `</s>` (special added tokens), `_tok_3`..., then `added`. */
function bpe(size: number, added: string[] = [], merges: string[] = []): FastTokenizer {
	const tokens = ["<unk>", "<s>", "</s>", ...Array.from({ length: size - 3 }, (_, i) => `_tok_${i + 3}`)];
	const special = (content: string, id: number) => ({
		id,
		content,
		single_word: false,
		lstrip: false,
		rstrip: false,
		normalized: false,
		special: true,
	});
	return indexTokenizer({
		version: "1.0",
		added_tokens: [
			...["<unk>", "<s>", "</s>"].map(special),
			...added.map((content, i) => ({ ...plainAddedToken(content), id: size + i })),
		],
		model: { type: "BPE", vocab: Object.fromEntries(tokens.map((token, id) => [token, id])), merges },
	});
}

const UNUSED = ["<UNUSED_0>", "<UNUSED_1>", "<UNUSED_2>", "<UNUSED_3>"];

describe("buildVocabulary", () => {
	const base = bpe(64);
	const padded = bpe(64, UNUSED);
	const chatml = bpe(64, ["<|im_start|>", "<|im_end|>"]);
	const inputs = [
		{ key: "base", tokenizer: base, vocabSize: 64 },
		{ key: "padded", tokenizer: padded, vocabSize: 64 },
		{ key: "chatml", tokenizer: chatml, vocabSize: 66 },
	];

	it("union: 66 tokens, 5 added tokens, no token beyond a model's vocab_size (test_source_union)", () => {
		const { tokenizer, warnings } = buildVocabulary("union", inputs, []);
		expect(tokenizer.vocab.size).toBe(66);
		expect(tokenizer.addedTokens.map((token) => token.content)).toEqual([
			"<unk>",
			"<s>",
			"</s>",
			"<|im_start|>",
			"<|im_end|>",
		]);
		expect(tokenizer.vocab.get("<|im_end|>")).toBe(65);
		expect(UNUSED.some((token) => tokenizer.vocab.has(token))).toBe(false);
		expect(warnings).toEqual([
			'4 token(s) of padded\'s tokenizer have ids at or beyond its vocab_size 64 and are left out of the union (first: "<UNUSED_0>")',
		]);
		// The base's model section, merges included, is kept as it was.
		expect(tokenizer.json.model).toBe(base.json.model);
	});

	it("union: a model's ordinary tokens become plain added tokens, after the base's vocabulary", () => {
		const other = indexTokenizer({
			model: { type: "BPE", vocab: { "<unk>": 0, hello: 1, world: 2 }, merges: [] },
		});
		const { tokenizer } = buildVocabulary(
			"union",
			[
				{ key: "base", tokenizer: bpe(8), vocabSize: 8 },
				{ key: "other", tokenizer: other, vocabSize: undefined },
			],
			[],
		);
		expect(vocabularyTokens(tokenizer).slice(8)).toEqual(["hello", "world"]);
		expect(tokenizer.addedTokens.at(-1)).toEqual({ ...plainAddedToken("world"), id: 9 });
	});

	it("union: the first model's settings win for an added token, with a warning", () => {
		const special = indexTokenizer({
			added_tokens: [{ id: 8, content: "<|x|>", special: true, normalized: false }],
			model: { type: "BPE", vocab: Object.fromEntries(vocabularyTokens(bpe(8)).map((t, i) => [t, i])), merges: [] },
		});
		const { tokenizer, warnings } = buildVocabulary(
			"union",
			[
				{ key: "a", tokenizer: bpe(8, ["<|x|>"]), vocabSize: 9 },
				{ key: "b", tokenizer: special, vocabSize: 9 },
			],
			[],
		);
		expect(tokenizer.addedTokens.find((token) => token.content === "<|x|>")?.special).toBe(false);
		expect(warnings).toEqual([
			'token "<|x|>" is added with different settings by several models; the first model\'s settings are kept',
		]);
	});

	it("base and model sources; recipe tokens are added only where missing", () => {
		expect(buildVocabulary("base", inputs, []).tokenizer).toBe(base);
		expect(buildVocabulary(chatml, inputs, []).tokenizer).toBe(chatml);
		const { tokenizer } = buildVocabulary("base", inputs, ["_tok_10", "<|new|>"]);
		expect(tokenizer.vocab.get("_tok_10")).toBe(10);
		expect(tokenizer.vocab.get("<|new|>")).toBe(64);
		expect(tokenizer.addedTokens).toHaveLength(4);
	});
});

describe("stripTokenizer", () => {
	it("drops tokens at or beyond vocab_size from the vocabulary, the added tokens and the merges", () => {
		const tokenizer = indexTokenizer({
			added_tokens: [{ id: 5, content: "<pad>", special: true }],
			model: {
				type: "BPE",
				vocab: { a: 0, b: 1, ab: 2, c: 3, abc: 4 },
				merges: ["a b", ["ab", "c"]],
			},
		});
		const { tokenizer: stripped, removed } = stripTokenizer(tokenizer, 4);
		expect(removed.sort()).toEqual(["<pad>", "abc"]);
		expect([...stripped.vocab.keys()]).toEqual(["a", "b", "ab", "c"]);
		expect((stripped.json.model as { merges: unknown }).merges).toEqual(["a b"]);
		expect(stripped.addedTokens).toEqual([]);
		// The input is left as it was.
		expect(tokenizer.vocab.size).toBe(6);
		expect(stripTokenizer(tokenizer, 6).tokenizer).toBe(tokenizer);
	});

	it("cuts a Unigram vocabulary's tail", () => {
		const unigram = indexTokenizer({
			model: {
				type: "Unigram",
				vocab: [
					["<unk>", 0],
					["▁a", -1],
					["▁b", -2],
				],
			},
		});
		expect(unigram.vocab.get("▁b")).toBe(2);
		const { tokenizer } = stripTokenizer(unigram, 2);
		expect((tokenizer.json.model as { vocab: unknown[] }).vocab).toHaveLength(2);
		expect(tokenizer.vocab.has("▁b")).toBe(false);
	});
});

describe("addTokens", () => {
	it("gives new tokens the next id after the vocabulary and the added tokens", () => {
		const tokenizer = addTokens(bpe(4, ["<x>"]), [plainAddedToken("<y>"), plainAddedToken("<x>")], {
			registerExisting: false,
		});
		expect(tokenizer.vocab.get("<y>")).toBe(5);
		expect(tokenizer.addedTokens).toHaveLength(5);
	});

	it("registers an existing token with new settings as an added token over its id", () => {
		const special = { ...plainAddedToken("_tok_3"), special: true, normalized: false };
		const tokenizer = addTokens(bpe(4), [special], { registerExisting: true });
		expect(tokenizer.vocab.get("_tok_3")).toBe(3);
		expect(tokenizer.addedTokens.at(-1)).toEqual({ ...special, id: 3 });
		expect(addTokens(tokenizer, [special], { registerExisting: true })).toBe(tokenizer);
	});
});

describe("embeddingPermutation and vocabularyTokens", () => {
	it("maps output ids to model rows, −1 where the model lacks the token or has it beyond vocab_size", () => {
		const padded = bpe(4, ["<UNUSED_0>"]);
		const { permutation, beyond } = embeddingPermutation(["<s>", "<|im_start|>", "<UNUSED_0>"], padded.vocab, 4);
		expect([...permutation]).toEqual([1, -1, -1]);
		expect(beyond).toEqual(["<UNUSED_0>"]);
	});

	it("refuses ids with holes", () => {
		const holes = indexTokenizer({ model: { type: "WordLevel", vocab: { a: 0, b: 2 } } });
		expect(() => vocabularyTokens(holes)).toThrow("are not 0..1");
	});
});
