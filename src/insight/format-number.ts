/** Up to three decimals, without trailing zeros: 0.3 → "0.3", 1/3 → "0.333", 2 → "2". */
export function formatNumber(value: number): string {
	return String(Number(value.toFixed(3)));
}
