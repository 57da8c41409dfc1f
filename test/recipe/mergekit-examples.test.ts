import { describe, expect, it } from "vitest";
import { parseRecipe } from "../../src/recipe/parse-recipe.js";
import { validateRecipe } from "../../src/recipe/validate-recipe.js";

/** mergekit's `examples/` at HEAD, as spec §7.2 describes them. */
const EXAMPLES: Record<string, string> = {
	"linear.yml": `models:
  - model: psmathur/orca_mini_v3_13b
    parameters:
      weight: 1.0
  - model: WizardLM/WizardLM-13B-V1.2
    parameters:
      weight: 0.3
  - model: garage-bAInd/Platypus2-13B
    parameters:
      weight: 0.5
merge_method: linear
dtype: float16
`,
	"ties.yml": `models:
  - model: psmathur/orca_mini_v3_13b
    parameters:
      density: [1, 0.7, 0.1] # density gradient
      weight: 1.0
  - model: garage-bAInd/Platypus2-13B
    parameters:
      density: 0.5
      weight: [0, 0.3, 0.7, 1] # weight gradient
  - model: WizardLM/WizardMath-13B-V1.0
    parameters:
      density: 0.33
      weight:
        - filter: mlp
          value: 0.5
        - value: 0
merge_method: ties
base_model: TheBloke/Llama-2-13B-fp16
parameters:
  normalize: true
  int8_mask: true
dtype: float16
`,
	"gradient-slerp.yml": `slices:
  - sources:
      - model: psmathur/orca_mini_v3_13b
        layer_range: [0, 40]
      - model: garage-bAInd/Platypus2-13B
        layer_range: [0, 40]
# or, the equivalent models: syntax:
# models:
#   - model: psmathur/orca_mini_v3_13b
#   - model: garage-bAInd/Platypus2-13B
merge_method: slerp
base_model: psmathur/orca_mini_v3_13b
parameters:
  t:
    - filter: self_attn
      value: [0, 0.5, 0.3, 0.7, 1]
    - filter: mlp
      value: [1, 0.5, 0.7, 0.3, 0]
    - value: 0.5 # fallback for rest of tensors
dtype: float16
`,
	"orcamini-platy-44layer.yml": `slices:
  - sources:
    - model: psmathur/orca_mini_v3_13b
      layer_range: [0, 24]
  - sources:
    - model: garage-bAInd/Platypus2-13B
      layer_range: [20, 40]
merge_method: passthrough
dtype: float16
`,
	"bio-merge.yml": `models:
  - model: mistralai/Mistral-7B-Instruct-v0.2
    parameters:
      density: 0.5
      weight: 0.5
  - model: BioMistral/BioMistral-7B
    parameters:
      density: 0.5
      weight: 0.5
merge_method: ties
base_model: mistralai/Mistral-7B-v0.1
parameters:
  normalize: false
  int8_mask: true
dtype: float16
`,
	"arcee_fusion.yml": `models:
  - model: model_a
  - model: model_b
merge_method: arcee_fusion
base_model: model_a
dtype: bfloat16
`,
};

describe("mergekit's examples", () => {
	it.each(Object.entries(EXAMPLES))("%s parses and validates with no diagnostics", (_name, text) => {
		const { recipe, diagnostics } = parseRecipe(text);
		expect(diagnostics).toEqual([]);
		expect(recipe).toBeDefined();
		if (recipe !== undefined) {
			expect(validateRecipe(recipe)).toEqual([]);
		}
	});

	it("ties.yml keeps its gradient density and filtered weight", () => {
		const recipe = parseRecipe(EXAMPLES["ties.yml"] ?? "").recipe;
		expect(recipe?.models?.[0]?.parameters.density).toEqual({
			kind: "gradient",
			values: [1, 0.7, 0.1],
			span: { line: 4, column: 16 },
		});
		const weight = recipe?.models?.[2]?.parameters.weight;
		expect(weight?.kind).toBe("filtered");
		if (weight?.kind === "filtered") {
			expect(weight.entries.map((entry) => [entry.filter, entry.value.kind, entry.span.line])).toEqual([
				["mlp", "scalar", 14],
				[undefined, "scalar", 16],
			]);
		}
		expect(recipe?.baseModel?.key).toBe("TheBloke/Llama-2-13B-fp16");
	});

	it("the 44-layer passthrough stacks 24 + 20 layers", () => {
		const recipe = parseRecipe(EXAMPLES["orcamini-platy-44layer.yml"] ?? "").recipe;
		const layers = (recipe?.slices ?? []).map((slice) => {
			const range = slice.sources[0]?.layerRange ?? [0, 0];
			return range[1] - range[0];
		});
		expect(layers).toEqual([24, 20]);
	});
});
