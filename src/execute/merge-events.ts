import type { ReportHeadline } from "../insight/merge-report.js";
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
	| {
			type: "done";
			outDir: string;
			files: string[];
			seconds: number;
			/** merge-report.json, the charts written (paths relative to outDir) and the numbers to show first. */
			report?: { file: string; charts: string[]; headline: ReportHeadline };
	  }
	/** A multi-stage recipe starts one of its merges (1-based `index`); `reused` when a kept earlier output stands in. */
	| { type: "stage"; index: number; total: number; name: string; outDir: string; reused: boolean }
	/** A Hub model's file coming into the cache; `bytesDone` counts resumed bytes too. */
	| { type: "download"; model: string; file: string; bytesDone: number; bytesTotal: number }
	/** A Hub model is whole in the cache; `bytes` is what came over the network this time. */
	| { type: "downloaded"; model: string; commit: string; files: number; bytes: number; seconds: number }
	/** A file of the merged model going to the Hub (`--push`). */
	| { type: "upload"; repo: string; file: string; bytesDone: number; bytesTotal: number }
	| {
			type: "published";
			repo: string;
			/** The commit on the repo's branch, or on the pull request's `refs/pr/N`. */
			commit: string;
			url: string;
			pullRequestUrl: string | undefined;
			/** Whether this push created the repo. */
			createdRepo: boolean;
	  };
