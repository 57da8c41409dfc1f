/**
 * The radix select's histogram layouts (see magnitudeAtRankOf). Magnitudes have the sign bit clear, so their top 16
 * bits take only TOP_BUCKETS values; the top pass's sums end with one more, the count of elements with any of the low
 * 16 bits set. The second pass counts the low 16 bits: LOW_BUCKETS sums.
 */
export const TOP_BUCKETS = 32768;
export const TOP_SUMS = TOP_BUCKETS + 1;
export const LOW_BUCKETS = 65536;

/** The sums a histogram pass of `high` leaves: the top pass's (high −1) or the low bits' of bucket `high`. */
export function histogramSums(high: number): number {
	return high < 0 ? TOP_SUMS : LOW_BUCKETS;
}
