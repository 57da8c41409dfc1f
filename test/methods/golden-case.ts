/**
 * A unit-level stand-in for the planner and executor, for the golden tests only: resolves a golden case's recipe
 * parameters (model > top level > default), places the base per the method's baseRole and rectifies embedding shapes.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { counterUniform } from "../../src/execute/counter-random.js";
import { cropSubmatrix } from "../../src/methods/kernels/crop-submatrix.js";
import type {
	MergeContext,
	MergeInputs,
	MergeMethod,
	ModelTensor,
	ParameterValue,
} from "../../src/methods/merge-method.js";
import { dtypeFromRecipeName } from "../../src/safetensors/dtype.js";
import { SafetensorsFile } from "../../src/safetensors/safetensors-file.js";

export const GOLDEN_DIR = "/work/shared/golden/mergekit-tensors";

type Params = Record<string, ParameterValue>;

export interface GoldenCase {
	recipe: {
		merge_method: string;
		base_model?: string;
		models: { model: string; parameters?: Params }[];
		parameters?: Params;
		dtype: string;
	};
	tensor: string;
	is_embed: boolean;
	tolerance: { rtol: number; atol: number; bf16_ulps?: number; max_mismatch_fraction?: number };
	note: string;
}

export interface LoadedCase {
	spec: GoldenCase;
	tensors: Map<string, { data: Float32Array; shape: number[] }>;
	expected: { data: Float32Array; shape: number[] };
}

export async function loadCase(name: string): Promise<LoadedCase> {
	const spec = JSON.parse(await readFile(join(GOLDEN_DIR, `${name}.json`), "utf8")) as GoldenCase;
	const file = await SafetensorsFile.open(join(GOLDEN_DIR, `${name}.safetensors`));
	try {
		const tensors = new Map<string, { data: Float32Array; shape: number[] }>();
		for (const [key, info] of file.tensors) {
			tensors.set(key, { data: await file.readFloat32(key), shape: [...info.shape] });
		}
		const expected = tensors.get("expected");
		if (!expected) {
			throw new Error(`golden case ${name} has no expected tensor`);
		}
		tensors.delete("expected");
		return { spec, tensors, expected };
	} finally {
		await file.close();
	}
}

/** Per-model parameters: the model's own, then the recipe's top level, then the method's default. */
function perModelParams(method: MergeMethod, spec: GoldenCase, model: string): Params {
	const own = spec.recipe.models.find((entry) => entry.model === model)?.parameters ?? {};
	const top = spec.recipe.parameters ?? {};
	const params: Params = {};
	for (const def of method.parameters) {
		if (def.scope !== "per-model") {
			continue;
		}
		const value = own[def.name] ?? top[def.name] ?? def.default;
		if (value !== undefined) {
			params[def.name] = value;
		}
	}
	return params;
}

/** Global parameters: the recipe's top level, then the method's default (model-level values are ignored). */
function globalParams(method: MergeMethod, spec: GoldenCase): Params {
	const top = spec.recipe.parameters ?? {};
	const params: Params = {};
	for (const def of method.parameters) {
		if (def.scope !== "global") {
			continue;
		}
		const value = top[def.name] ?? def.default;
		if (value !== undefined) {
			params[def.name] = value;
		}
	}
	return params;
}

export function buildInputs(method: MergeMethod, loaded: LoadedCase): MergeInputs {
	const { spec, tensors } = loaded;
	const baseKey = spec.recipe.base_model;
	const tensorOf = (model: string): ModelTensor => {
		const tensor = tensors.get(model);
		if (!tensor) {
			throw new Error(`golden case has no tensor for model ${model}`);
		}
		return { model, data: tensor.data, shape: tensor.shape, params: perModelParams(method, spec, model) };
	};
	const listed = spec.recipe.models.map((entry) => entry.model);
	let models: ModelTensor[];
	let base: ModelTensor | undefined;
	switch (method.baseRole) {
		case "input": {
			const order = baseKey !== undefined && !listed.includes(baseKey) ? [...listed, baseKey] : listed;
			models = order.map(tensorOf);
			base = undefined;
			break;
		}
		case "reference":
		case "optional-reference":
			models = listed.filter((model) => model !== baseKey).map(tensorOf);
			base = baseKey === undefined ? undefined : tensorOf(baseKey);
			break;
		case "ignored":
			models = listed.map(tensorOf);
			base = undefined;
			break;
	}
	return rectify(method, spec.is_embed, { models, base });
}

/** The shape policy the executor applies before a kernel runs (spec §2.0.2), for 2-D embedding tensors. */
function rectify(method: MergeMethod, isEmbed: boolean, inputs: MergeInputs): MergeInputs {
	const all = inputs.base ? [...inputs.models, inputs.base] : inputs.models;
	if (!isEmbed || !all.every((tensor) => tensor.shape.length === 2)) {
		return inputs;
	}
	let rows: number;
	let cols: number;
	if (method.shapePolicy === "common-submatrix") {
		rows = Math.min(...all.map((tensor) => tensor.shape[0] as number));
		cols = Math.min(...all.map((tensor) => tensor.shape[1] as number));
	} else if (method.shapePolicy === "crop-to-base" && inputs.base) {
		[rows, cols] = inputs.base.shape as [number, number];
	} else {
		return inputs;
	}
	const crop = (tensor: ModelTensor): ModelTensor => ({
		...tensor,
		...cropSubmatrix(tensor.data, tensor.shape, rows, cols),
	});
	return { models: inputs.models.map(crop), base: inputs.base && crop(inputs.base) };
}

export function buildContext(method: MergeMethod, spec: GoldenCase, warnings: string[], seed = 42): MergeContext {
	return {
		tensorName: spec.tensor,
		isEmbed: spec.is_embed,
		params: globalParams(method, spec),
		uniform: (model) => counterUniform(seed, spec.tensor, model),
		warn: (message) => {
			warnings.push(message);
		},
		computeDtype: dtypeFromRecipeName(spec.recipe.dtype) === "BF16" ? "BF16" : "F32",
	};
}
