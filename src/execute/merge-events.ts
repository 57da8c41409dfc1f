import type { MergePlan } from "../plan/merge-plan.js";
import type { Diagnostic } from "../recipe/recipe.js";

/** What a merge reports as it goes; the CLI, the bot and the logs each render these. */
export type MergeEvent =
	| { type: "model-loading"; model: string }
	| { type: "model-loaded"; model: string; origin: "local" | "cache" | "hub"; commit: string | undefined; dir: string }
	| { type: "planned"; plan: MergePlan }
	| { type: "warning"; diagnostic: Diagnostic }
	| {
			type: "tensor";
			/** 1-based count of tensors done. */
			done: number;
			total: number;
			name: string;
			bytesRead: number;
			bytesToRead: number;
	  }
	| { type: "weights-written"; files: string[] }
	| { type: "done"; outDir: string; files: string[]; seconds: number };
