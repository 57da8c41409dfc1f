import { Template } from "@huggingface/jinja";
import { describe, expect, it } from "vitest";
import { BUILT_IN_CHAT_TEMPLATES, chooseChatTemplate } from "../../src/tokenizer/choose-chat-template.js";
import { modelChatTemplate } from "../../src/tokenizer/model-chat-template.js";

describe("chooseChatTemplate", () => {
	it("auto: the most common template, trimmed; the first one seen wins a tie; none gives undefined", async () => {
		expect(await chooseChatTemplate("auto", ["A", " B\n", undefined, "B", "C"])).toBe("B");
		expect(await chooseChatTemplate("auto", ["A", "B"])).toBe("A");
		expect(await chooseChatTemplate("auto", [undefined, "  "])).toBeUndefined();
	});

	it("a literal template is used as written", async () => {
		expect(await chooseChatTemplate("auto-like {{ messages }}", [])).toBe("auto-like {{ messages }}");
	});
});

describe("modelChatTemplate", () => {
	it("prefers chat_template.jinja, then tokenizer_config.json's string or the `default` of its list", () => {
		expect(modelChatTemplate({ chat_template: "config" }, "file")).toBe("file");
		expect(modelChatTemplate({ chat_template: "config" }, undefined)).toBe("config");
		expect(
			modelChatTemplate(
				{
					chat_template: [
						{ name: "tool_use", template: "tools" },
						{ name: "default", template: "plain" },
					],
				},
				undefined,
			),
		).toBe("plain");
		expect(modelChatTemplate({ chat_template: [{ name: "tool_use", template: "tools" }] }, undefined)).toBeUndefined();
		expect(modelChatTemplate(undefined, undefined)).toBeUndefined();
	});
});

describe("the built-in templates", () => {
	const conversation = [
		{ role: "system", content: "Be brief." },
		{ role: "user", content: "Hi " },
		{ role: "assistant", content: "Hello" },
		{ role: "user", content: "Bye" },
	];
	const render = async (name: string, messages: unknown[], addGenerationPrompt: boolean): Promise<string> =>
		new Template((await chooseChatTemplate(name, [])) as string).render({
			messages,
			add_generation_prompt: addGenerationPrompt,
			bos_token: "<s>",
			eos_token: "</s>",
		});

	it("are mergekit's five names", () => {
		expect(BUILT_IN_CHAT_TEMPLATES).toEqual(["alpaca", "chatml", "exaone", "llama3", "mistral"]);
	});

	it("chatml", async () => {
		expect(await render("chatml", conversation, true)).toBe(
			"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi <|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
		);
	});

	it("llama3", async () => {
		expect(await render("llama3", conversation, true)).toBe(
			"<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
		);
	});

	it("mistral, which refuses turns out of order", async () => {
		expect(await render("mistral", conversation, true)).toBe(
			"<s> [INST] Be brief.\n\nHi  [/INST] Hello</s> [INST] Bye [/INST]",
		);
		await expect(render("mistral", [{ role: "assistant", content: "x" }], false)).rejects.toThrow("alternate");
	});

	it("exaone", async () => {
		expect(await render("exaone", conversation.slice(1), true)).toBe(
			"[|system|][|endofturn|]\n[|user|]Hi \n[|assistant|]Hello[|endofturn|]\n[|user|]Bye\n[|assistant|]",
		);
	});

	it("alpaca", async () => {
		expect(
			await render(
				"alpaca",
				[...conversation.slice(0, 2), { role: "user_context", content: "some input" }, ...conversation.slice(2)],
				true,
			),
		).toBe(
			"Be brief.\n\n### Instruction:\nHi\n\n### Input:\nsome input\n\n### Response:\nHello\n\n### Instruction:\nBye\n\n### Response:\n",
		);
	});
});
