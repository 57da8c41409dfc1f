/** 0.3124 → "31.2%"; small values keep two significant digits (0.00042 → "0.042%"); null → "–". */
export function formatPercent(value: number | null): string {
	if (value === null) {
		return "–";
	}
	const percent = value * 100;
	if (percent !== 0 && Math.abs(percent) < 1) {
		return `${Number(percent.toPrecision(2))}%`;
	}
	return `${percent.toFixed(1)}%`;
}
