/**
 * Parses `--out-shard-size` as mergekit does (a bare integer, or K/M/B for ×10³/10⁶/10⁹ bytes), also taking the
 * spellings people try first (`5G`, `5GB`, `500MB`). Undefined when it is none of these.
 */
export function parseSize(text: string): number | undefined {
	const match = /^\s*(\d+(?:\.\d+)?)\s*(k|kb|m|mb|b|g|gb)?\s*$/i.exec(text);
	if (!match) {
		return undefined;
	}
	const factors: Record<string, number> = { "": 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, b: 1e9, g: 1e9, gb: 1e9 };
	const bytes = Number(match[1]) * (factors[(match[2] ?? "").toLowerCase()] as number);
	return Number.isFinite(bytes) && bytes >= 1 ? Math.floor(bytes) : undefined;
}
