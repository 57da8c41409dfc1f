import type { MergePlan } from "../plan/merge-plan.js";
import { addMeasureSums } from "./add-measure-sums.js";
import { classifyTensor, MODULE_KINDS, type ModuleKind } from "./classify-tensor.js";
import { createMeasureSums, type MeasureSums } from "./measure-sums.js";
import { explainSums, measureTensor } from "./measure-tensor.js";
import type { MergeReport } from "./merge-report.js";
import { reportModels } from "./report-models.js";
import { summarizeSums } from "./summarize-sums.js";
import type { TensorObserver } from "./tensor-observer.js";

export interface MergeMeasurer {
	/** Pass to executePlan's `observe`. */
	observe: TensorObserver;
	/** The report over every tensor observed so far. */
	report(): MergeReport;
}

/** Collects the merge report of one plan, tensor by tensor, as the executor merges them. */
export function createMergeMeasurer(plan: MergePlan): MergeMeasurer {
	const { base, models } = reportModels(plan);
	const modelIndex = new Map(models.map((model, i) => [model, i]));
	const tensors: { name: string; layer: number | null; module: ModuleKind; sums: MeasureSums }[] = [];
	return {
		observe(merged) {
			const sums = measureTensor(merged, base, modelIndex);
			const { tensor, block } = merged;
			const open = tensors[tensors.length - 1];
			if (block && !block.first && open?.name === tensor.name) {
				// A later block of the tensor: its sums add up, and the shares are those of the whole tensor.
				addMeasureSums(open.sums, sums);
				open.sums.tensors = 1;
				if (block.last) {
					explainSums(open.sums);
				}
				return;
			}
			// Output names are already renumbered across slices, so the name's layer number is the output layer.
			const layer = tensor.layer === undefined ? null : Number(/\.(\d+)\./.exec(tensor.name)?.[1] ?? Number.NaN);
			tensors.push({
				name: tensor.name,
				layer: layer === null || Number.isNaN(layer) ? null : layer,
				module: classifyTensor(tensor.name, tensor.isEmbed),
				sums,
			});
		},
		report() {
			const overall = createMeasureSums(models.length);
			const byModule = new Map<ModuleKind, MeasureSums>();
			const byLayer = new Map<number, MeasureSums>();
			const into = <K>(map: Map<K, MeasureSums>, key: K): MeasureSums => {
				let sums = map.get(key);
				if (!sums) {
					sums = createMeasureSums(models.length);
					map.set(key, sums);
				}
				return sums;
			};
			for (const entry of tensors) {
				addMeasureSums(overall, entry.sums);
				addMeasureSums(into(byModule, entry.module), entry.sums);
				if (entry.layer !== null) {
					addMeasureSums(into(byLayer, entry.layer), entry.sums);
				}
			}
			const summary = summarizeSums(overall, models);
			return {
				format: "mergesmith-merge-report/1",
				method: plan.method.name,
				base: base ?? null,
				models,
				headline: {
					signConflict: summary.signConflict,
					taskVectorCosine: summary.meanTaskVectorCosine,
					relativeChange: summary.relativeChange,
				},
				overall: summary,
				modules: MODULE_KINDS.flatMap((module) => {
					const sums = byModule.get(module);
					return sums ? [{ module, ...summarizeSums(sums, models) }] : [];
				}),
				layers: [...byLayer.entries()]
					.sort(([a], [b]) => a - b)
					.map(([layer, sums]) => ({ layer, ...summarizeSums(sums, models) })),
				tensors: tensors.map(({ name, layer, module, sums }) => ({
					name,
					layer,
					module,
					...summarizeSums(sums, models),
				})),
			};
		},
	};
}
