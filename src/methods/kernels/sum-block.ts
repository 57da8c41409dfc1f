/**
 * Elements per block of the kernels whose float64 sums threads share (multislerp, model_stock): split points between
 * threads fall between blocks, and the blocks' sums are added in order, so results do not depend on the thread count.
 */
export const SUM_BLOCK = 65536;
