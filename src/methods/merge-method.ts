import type { UniformStream } from "../execute/counter-random.js";
import type { FloatDtype } from "../safetensors/dtype.js";
import type { RangeArgs, RangeKernelName } from "./kernels/range-kernels.js";
import type { RangeParts } from "./kernels/run-range.js";
import type { ScratchAllocator } from "./kernels/scratch.js";

/**
 * What a merge method is: one registry entry that the validator, the planner, the executor,
 * the CLI's help and the model card all read.
 */

/** Global parameters are read once per output tensor; per-model parameters once per input model. */
export type ParameterScope = "global" | "per-model";

export interface ParameterDef {
	name: string;
	scope: ParameterScope;
	type: "number" | "integer" | "boolean";
	/** Absent together with `required: true` means the recipe must set it. */
	default?: number | boolean;
	required?: boolean;
	/** Allowed range of numeric values; checked before any weights are read. */
	range?: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean };
	/** One sentence for help text and the card. */
	description: string;
}

/** A resolved parameter value for one tensor. */
export type ParameterValue = number | boolean;

/**
 * How the base model takes part:
 * - `reference`: the base is not a merge input; kernels get it separately as `base` (task arithmetic, slerp, ...);
 * - `input`: the base is an ordinary input like any other model (linear, karcher);
 * - `optional-reference`: with a base_model it is a reference, without one every model is an input (nuslerp, multislerp);
 * - `ignored`: passthrough.
 */
export type BaseRole = "reference" | "input" | "optional-reference" | "ignored";

/**
 * What happens when inputs' shapes differ (spec §2.0.2), applied before the kernel runs:
 * - `crop-to-base`: embedding tensors are cut to the base's shape, other mismatched models are skipped for that tensor;
 * - `common-submatrix`: embedding tensors are cut to the largest common sub-matrix;
 * - `strict`: any mismatch is an error naming the tensor.
 */
export type ShapePolicy = "crop-to-base" | "common-submatrix" | "strict";

export interface ModelTensor {
	/** The model reference as written in the recipe (stable key, used for seeding). */
	model: string;
	/** The values in float32; for an input read as stored in bfloat16, decoded on first use. */
	readonly data: Float32Array;
	/**
	 * A bfloat16 input's bit patterns as stored (absent otherwise). Kernels that can, read these and decode as they go,
	 * so that `data` is never made: no decoding pass, no float32 copy of the input. Reading `data` drops them (their
	 * buffer is reused), so look for them when they are used, and never keep them past a read of `data`.
	 */
	bf16?: Uint16Array;
	shape: readonly number[];
	/** This model's per-model parameters for this tensor, defaults applied. */
	params: Readonly<Record<string, ParameterValue>>;
}

/** What MergeMethod.blockSums decides from: a planned tensor's parameters, inputs and arithmetic dtype. */
export interface BlockSumsTensor {
	shape: readonly number[];
	params: Readonly<Record<string, ParameterValue>>;
	models: readonly { model: string; params: Readonly<Record<string, ParameterValue>> }[];
	base?: { model: string } | undefined;
	computeDtype?: FloatDtype | undefined;
}

/** A tensor's inputs, the base's among them. */
export function inputCount(tensor: BlockSumsTensor): number {
	return tensor.models.length + (tensor.base ? 1 : 0);
}

export interface MergeContext {
	/** The output tensor's name (random streams are keyed by it). */
	tensorName: string;
	isEmbed: boolean;
	/** Global parameters for this tensor, defaults applied. */
	params: Readonly<Record<string, ParameterValue>>;
	/**
	 * A deterministic uniform [0, 1) stream for one model: `uniform(model)(i)` depends only on the seed,
	 * the tensor name, the model and the element index i, so results do not depend on chunking or threads.
	 */
	uniform(model: string): UniformStream;
	warn(message: string): void;
	/**
	 * The dtype mergekit would do this tensor's arithmetic in: the recipe's `dtype` when set, else the stored dtype
	 * (the base's for the task-arithmetic family, spec §2.0). Kernels compute in float32/float64, but where mergekit's
	 * rounding of intermediates visibly moves the result (per-model weights and task vectors in `linear` and the
	 * task-arithmetic family) they round those intermediates to this dtype. Absent means float32.
	 */
	computeDtype?: FloatDtype;
	/**
	 * Where a kernel reports what only it sees (the merge report, src/insight): absent when nobody measures, so
	 * kernels skip the counting then.
	 */
	record?(stats: KernelStats): void;
	/**
	 * The executor's pooled working memory for this tensor (see ScratchAllocator); absent: plain allocations. The
	 * result may live in it: it stays valid until the executor has encoded the tensor.
	 */
	alloc?: ScratchAllocator;
	/**
	 * Where the result goes as bfloat16 bit patterns when the tensor is written in bfloat16 (absent otherwise). A
	 * method whose last SIMD kernel can write there (its `_to_bf16` variant, see resultLoop) does, and returns them
	 * as the result's `bf16` (see resultOf): the executor then has nothing left to encode, and no float32 result is
	 * stored.
	 */
	bf16Output?: Uint16Array;
	/**
	 * Where the tensor is merged in blocks of rows after a pass over all of them (see MergeMethod.blockSums): the
	 * whole tensor's sums, which the method takes instead of summing its block.
	 */
	tensorSums?: Float64Array;
	/**
	 * Where the tensor is a block of rows of a larger one: the index of its first element in the whole tensor, and
	 * the whole tensor's element count. Random draws take the whole tensor's indices, so that a block draws what the
	 * whole tensor would.
	 */
	rows?: { offset: number; total: number };
	/**
	 * Runs a range kernel over [0, length) split across the executor's worker threads (arrays from `alloc` are shared
	 * with them); absent, kernels run on this thread (runRange). Returns the kernel's counts, added over the parts;
	 * with `parts`, the range is cut as they say and each part's counts are kept there too.
	 */
	parallel?(
		kernel: RangeKernelName,
		args: RangeArgs,
		length: number,
		sumCount: number,
		parts?: RangeParts,
	): Float64Array;
}

/** What a kernel saw of one model while merging one tensor; counts, so that they add up over tensors and layers. */
export interface KernelModelStats {
	/** The model reference, as in ModelTensor.model. */
	model: string;
	/** Elements of the model's task vector still nonzero after sparsification. */
	kept: number;
	/** Of those, how many had the sign the election chose (methods with sign election only). */
	agreed?: number;
}

export interface KernelStats {
	/** Elements of the tensor. */
	elements: number;
	models: KernelModelStats[];
}

export interface MergeInputs {
	/** The models merged, in recipe order (with the base included only when the method's baseRole is `input`). */
	models: ModelTensor[];
	/** The base model's tensor, when the method uses the base as a reference and one is present. */
	base: ModelTensor | undefined;
}

export interface MergeResult {
	/** The values in float32; for a result written as bfloat16 bits, decoded on first read. */
	readonly data: Float32Array;
	/** The result as bfloat16 bit patterns, where the method wrote it into MergeContext.bf16Output. */
	bf16?: Uint16Array;
	shape: readonly number[];
}

export interface MergeMethod {
	/** The recipe's `merge_method` value. */
	name: string;
	/** The card's label (mergekit's pretty name). */
	displayName: string;
	paperUrl: string | undefined;
	/** A short plain-language account of what the method does to the weights (card and help). */
	explanation: string;
	parameters: readonly ParameterDef[];
	baseRole: BaseRole;
	/** Is the base_model key required? */
	requiresBase: boolean;
	/** How many models the recipe must merge, counting the base where listed or added. */
	modelCount: { min: number; max?: number; countsBase: boolean };
	shapePolicy: ShapePolicy;
	/** Whether the method draws random numbers with these global and per-model parameters. */
	isRandomized(params: {
		global: Readonly<Record<string, ParameterValue>>;
		perModel: readonly Readonly<Record<string, ParameterValue>>[];
	}): boolean;
	/**
	 * Whether each element of a result depends only on the inputs' elements at its index and the tensor's parameters
	 * (no statistic over the whole tensor, no random draw): the executor then merges a large tensor a block of rows at a
	 * time (see rowBlocks).
	 */
	elementwise?: boolean;
	/**
	 * Where the method needs only float64 sums over the whole tensor, added block by block of 65536 elements in order,
	 * and is elementwise otherwise (slerp, flattened nuslerp, model_stock, multislerp): the executor then merges a large
	 * tensor in blocks of rows after one pass or more over every block's sums, each block's merge with the whole
	 * tensor's sums in MergeContext.tensorSums.
	 */
	blockSums?: {
		/** Whether a tensor with these parameters and inputs (the base's among them) is merged so. */
		applies(tensor: BlockSumsTensor): boolean;
		/**
		 * Passes over the blocks of a tensor with these parameters and inputs before they merge (default 1), for sums
		 * that need the whole tensor's sums of a pass before (multislerp's mean direction needs the norms). Each pass's
		 * `add` finds the totals of the passes before it, end to end, in MergeContext.tensorSums (absent in the first);
		 * the merge finds all passes' totals so.
		 */
		passes?(tensor: BlockSumsTensor): number;
		/** A block's sums added, in order, to those of the blocks before it (`running`; undefined for the first). */
		add(inputs: MergeInputs, context: MergeContext, running: Float64Array | undefined): Float64Array;
	};
	/**
	 * Merges one tensor. Returns undefined to leave the tensor out of the output
	 * (model_stock with too few inputs for an optional tensor).
	 */
	merge(inputs: MergeInputs, context: MergeContext): MergeResult | undefined;
}
