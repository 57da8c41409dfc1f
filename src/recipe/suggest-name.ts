/**
 * The candidate a mistyped name most likely meant, or undefined when none is close.
 * Names are compared after folding case and treating `-`, `.` and spaces as `_`, so that
 * `dare-ties` finds `dare_ties`; the rest is plain edit distance with a length-scaled limit.
 */
export function suggestName(input: string, candidates: Iterable<string>): string | undefined {
	const folded = fold(input);
	let best: string | undefined;
	let bestDistance = Number.POSITIVE_INFINITY;
	for (const candidate of candidates) {
		const foldedCandidate = fold(candidate);
		if (foldedCandidate === folded) {
			return candidate;
		}
		const distance = editDistance(folded, foldedCandidate);
		if (distance < bestDistance) {
			best = candidate;
			bestDistance = distance;
		}
	}
	// One typo in a short name, up to a third of the letters in a long one.
	const limit = Math.max(1, Math.min(3, Math.floor(folded.length / 3)));
	return bestDistance <= limit ? best : undefined;
}

function fold(name: string): string {
	return name.trim().toLowerCase().replace(/[-. ]/g, "_");
}

/** Damerau-Levenshtein (optimal string alignment): a swapped pair like `desnity` counts as one edit. */
function editDistance(a: string, b: string): number {
	const rows = a.length + 1;
	const cols = b.length + 1;
	const table: number[] = new Array<number>(rows * cols).fill(0);
	const at = (i: number, j: number): number => table[i * cols + j] ?? 0;
	for (let i = 0; i < rows; i++) {
		table[i * cols] = i;
	}
	for (let j = 0; j < cols; j++) {
		table[j] = j;
	}
	for (let i = 1; i < rows; i++) {
		for (let j = 1; j < cols; j++) {
			const cost = a[i - 1] === b[j - 1] ? 0 : 1;
			let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
			if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
				value = Math.min(value, at(i - 2, j - 2) + 1);
			}
			table[i * cols + j] = value;
		}
	}
	return at(a.length, b.length);
}
