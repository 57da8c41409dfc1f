import { describe, expect, it } from "vitest";
import { parseModelReference } from "../../src/recipe/parse-model-reference.js";

const span = { line: 3, column: 12 };

describe("parseModelReference", () => {
	it.each([
		["hf_user/model", "hf_user/model", undefined, undefined],
		["hf_user/model+hf_user/lora", "hf_user/model", undefined, "hf_user/lora"],
		["hf_user/model@v0.0.1", "hf_user/model", "v0.0.1", undefined],
		["hf_user/model@v0.0.1+hf_user/lora@main", "hf_user/model", "v0.0.1", "hf_user/lora@main"],
	])("reads %s and prints it back the same", (text, path, revision, lora) => {
		const { reference, diagnostics } = parseModelReference(text, span);
		expect(diagnostics).toEqual([]);
		expect(reference?.model).toEqual({ path, revision });
		expect(
			reference?.lora === undefined
				? undefined
				: `${reference.lora.path}${reference.lora.revision ? `@${reference.lora.revision}` : ""}`,
		).toBe(lora);
		expect(reference?.key).toBe(text);
		expect(reference?.span).toEqual(span);
	});

	it("rejects several @ in one part, naming the line and the rule", () => {
		const { reference, diagnostics } = parseModelReference("@@@@@", span, { what: "base_model" });
		expect(reference).toBeUndefined();
		expect(diagnostics).toHaveLength(1);
		expect(diagnostics[0]?.severity).toBe("error");
		expect(diagnostics[0]?.message).toContain("base_model at line 3");
		expect(diagnostics[0]?.message).toContain("`@` separates a model from its revision");
		expect(diagnostics[0]?.message).toContain("only once");
	});

	it("rejects more than one +", () => {
		for (const text of ["a+b+c", "a+b+c@d+e@f@g"]) {
			const { reference, diagnostics } = parseModelReference(text, span);
			expect(reference).toBeUndefined();
			expect(diagnostics[0]?.message).toContain("`+` joins a model and one LoRA adapter");
			expect(diagnostics[0]?.message).toContain("at most once");
		}
	});

	it("rejects empty parts and revisions", () => {
		expect(parseModelReference("", span).diagnostics[0]?.message).toContain("empty");
		expect(parseModelReference("org/model@", span).diagnostics[0]?.message).toContain("nothing follows `@`");
		expect(parseModelReference("+org/lora", span).diagnostics[0]?.message).toContain("model name is missing");
		expect(parseModelReference(42, span).diagnostics[0]?.message).toContain("quote it");
	});

	it("reads the dict form with override_architecture", () => {
		const { reference, diagnostics } = parseModelReference(
			{
				model: { path: "org/model", revision: "main" },
				lora: { path: "org/lora" },
				override_architecture: "LlamaForCausalLM",
			},
			span,
		);
		expect(diagnostics).toEqual([]);
		expect(reference?.key).toBe("org/model@main+org/lora");
		expect(reference?.overrideArchitecture).toBe("LlamaForCausalLM");
	});

	it("rejects a dict form without a path, and warns about unknown keys", () => {
		expect(parseModelReference({ model: { revision: "main" } }, span).diagnostics[0]?.message).toContain(
			"needs a `path`",
		);
		const { diagnostics } = parseModelReference({ model: { path: "a/b" }, revison: "x" }, span);
		expect(diagnostics[0]?.severity).toBe("warning");
		expect(diagnostics[0]?.message).toContain("unknown key `revison`");
	});

	it("strips the legacy model: prefix only where asked, with a warning", () => {
		const legacy = parseModelReference("model:org/x", span, { what: "tokenizer_source", legacyModelPrefix: true });
		expect(legacy.reference?.key).toBe("org/x");
		expect(legacy.diagnostics[0]?.severity).toBe("warning");
		expect(legacy.diagnostics[0]?.message).toContain("`model:` prefix");
		expect(parseModelReference("model:org/x", span).reference?.key).toBe("model:org/x");
	});
});
