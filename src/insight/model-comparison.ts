import type { ModuleKind } from "./classify-tensor.js";

/** How far model A is from model B over a group of tensors. */
export interface ComparisonGroup {
	tensors: number;
	elements: number;
	/** ‖A − B‖ / ‖B‖ (0: identical); null when B is all zeros. */
	relativeDifference: number | null;
	/** cos(A, B); null when either is all zeros. */
	cosine: number | null;
	/** The largest |A − B| of any element. */
	maxAbsDifference: number;
}

/** `mergesmith compare A B`. */
export interface ModelComparison {
	a: string;
	b: string;
	overall: ComparisonGroup;
	modules: ({ module: ModuleKind } & ComparisonGroup)[];
	layers: ({ layer: number } & ComparisonGroup)[];
	tensors: ({ name: string; layer: number | null; module: ModuleKind } & ComparisonGroup)[];
	onlyInA: string[];
	onlyInB: string[];
	/** Tensors both have, with different shapes (not compared). */
	shapeMismatch: string[];
}
