import type { LoadedModel } from "../models/load-model.js";
import type { Architecture } from "./architectures/architecture.js";
import { expandExperts } from "./architectures/expand-experts.js";
import { findFamily } from "./architectures/families.js";
import { inferArchitecture } from "./architectures/infer-architecture.js";
import { PlanError } from "./plan-error.js";

/**
 * Picks the tensor layout for a merge (spec §3.2): the family table when every model belongs to the same known
 * family, an error when known families differ (unless crimes are allowed), and the generic rule when any model's
 * family is unknown.
 */
export function chooseArchitecture(models: readonly LoadedModel[], allowCrimes = false): Architecture {
	const families: (Architecture | undefined)[] = models.map((model) => {
		const declared = model.reference.overrideArchitecture ?? architectureName(model);
		const modelType = typeof model.config.model_type === "string" ? model.config.model_type : undefined;
		return declared === undefined ? undefined : findFamily(declared, modelType);
	});
	if (families.every((family) => family !== undefined)) {
		const first = families[0] as Architecture;
		const other = families.findIndex((family) => family?.family !== first.family);
		if (other >= 0 && !allowCrimes) {
			const model = models[other] as LoadedModel;
			throw new PlanError(
				`${model.reference.key} is a ${families[other]?.family} model but ${models[0]?.reference.key} is ${first.family}; mixing architectures is refused unless you pass --allow-crimes`,
				model.reference.span,
			);
		}
		return first.expertCountConfigKey === undefined ? first : withExperts(first, first.expertCountConfigKey, models);
	}
	return inferArchitecture({
		models: models.map((model) => ({
			tensors: new Map([...model.tensors].map(([name, info]) => [name, info.shape])),
			vocabSize: typeof model.config.vocab_size === "number" ? model.config.vocab_size : undefined,
		})),
	});
}

function architectureName(model: LoadedModel): string | undefined {
	const { architectures } = model.config;
	if (!Array.isArray(architectures) || architectures.length === 0) {
		return undefined;
	}
	if (architectures.length > 1) {
		throw new PlanError(
			`${model.reference.key}: config.json lists ${architectures.length} architectures (${architectures.join(", ")}); a merge input must have exactly one`,
			model.reference.span,
		);
	}
	return typeof architectures[0] === "string" ? architectures[0] : undefined;
}

/** Repeats the per-expert templates for the models' expert count, which every model must share. */
function withExperts(family: Architecture, key: string, models: readonly LoadedModel[]): Architecture {
	const counts = models.map((model) => model.config[key]);
	const [first] = models;
	const count = counts[0];
	if (first === undefined || typeof count !== "number" || !Number.isInteger(count) || count < 1) {
		throw new PlanError(
			`${first?.reference.key ?? "the first model"}: config.json has no whole-number \`${key}\`, the number of experts a ${family.family} layer has`,
			first?.reference.span,
		);
	}
	const other = counts.findIndex((value) => value !== count);
	if (other >= 0) {
		const model = models[other] as LoadedModel;
		throw new PlanError(
			`${model.reference.key} has ${String(counts[other])} experts per layer (${key}) but ${first.reference.key} has ${count}; experts are merged one to one, so the counts must match`,
			model.reference.span,
		);
	}
	return expandExperts(family, count);
}
