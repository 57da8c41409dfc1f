import type { ModuleKind } from "./classify-tensor.js";

/** One model's numbers over a group of tensors; null where they are undefined (no base, a zero norm, no pruning). */
export interface ModelStats {
	model: string;
	/** ‖τᵢ‖, the task vector's L2 norm over the group. */
	taskVectorNorm: number;
	/** ‖τᵢ‖ / ‖B‖. */
	relativeTaskVectorNorm: number | null;
	/** cos(Δ, τᵢ): how closely the final change follows this model's. */
	deltaCosine: number | null;
	/** This model's share of ‖Δ‖² (least-squares attribution; shares add up to `explained`). */
	share: number | null;
	/** Where the models' signs disagree: share of those elements (where this model had a sign) that Δ sided with it. */
	conflictWins: number | null;
	/** Share of the task vector's elements left after sparsification (kernel-reported; null without pruning stats). */
	keptFraction: number | null;
	/** Share of the kept elements whose sign won the election (methods with sign election). */
	signAgreement: number | null;
}

export interface GroupStats {
	tensors: number;
	/** Elements measured against the base. */
	elements: number;
	/** ‖Δ‖ / ‖B‖: how much the merge moved the base. */
	relativeChange: number | null;
	/** Share of elements where two task vectors have opposite signs. */
	signConflict: number | null;
	/** Of those elements, the share the merge left at the base's value (all changes there pruned or cancelled). */
	conflictAtBase: number | null;
	/** Mean over model pairs of cos(τᵢ, τₖ). */
	meanTaskVectorCosine: number | null;
	/** Fraction of ‖Δ‖² that a linear combination of the task vectors explains (1 for linear merges). */
	explained: number | null;
	models: ModelStats[];
	/** cos(τᵢ, τₖ), in the report's model order. */
	similarity: (number | null)[][];
}

/** The three numbers a person (or the bot) sees first. */
export interface ReportHeadline {
	/** Share of elements where the models' changes have opposite signs. */
	signConflict: number | null;
	/** Mean pairwise cosine of the task vectors. */
	taskVectorCosine: number | null;
	/** ‖Δ‖ / ‖B‖ over the whole model. */
	relativeChange: number | null;
}

/** `merge-report.json`: what the merge did to the weights, measured while merging. */
export interface MergeReport {
	format: "mergesmith-merge-report/1";
	method: string;
	/** The model task vectors are measured from; null when the merge has none (then nothing is measured). */
	base: string | null;
	/** The models with task vectors, in recipe order; every per-model list follows it. */
	models: string[];
	headline: ReportHeadline;
	overall: GroupStats;
	modules: ({ module: ModuleKind } & GroupStats)[];
	/** Output layers in order; tensors outside the layers (embeddings, final norm) are only in `modules`. */
	layers: ({ layer: number } & GroupStats)[];
	tensors: ({ name: string; layer: number | null; module: ModuleKind } & GroupStats)[];
}
