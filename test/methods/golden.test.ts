import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findMergeMethod } from "../../src/methods/registry.js";
import { f32ToBf16 } from "../../src/safetensors/dtype.js";
import { buildContext, buildInputs, GOLDEN_DIR, loadCase } from "./golden-case.js";

const INDEX = JSON.parse(readFileSync(join(GOLDEN_DIR, "INDEX.json"), "utf8")) as { cases: string[] };

/** bf16 bit patterns mapped onto a line where adjacent representable values are 1 apart. */
function bf16Ordinal(bits: number): number {
	return bits & 0x8000 ? -(bits & 0x7fff) : bits;
}

describe("golden cases computed by mergekit", () => {
	it("has all 33 cases", () => {
		expect(INDEX.cases).toHaveLength(33);
	});

	for (const name of INDEX.cases) {
		it(name, async () => {
			const loaded = await loadCase(name);
			const { spec, expected } = loaded;
			const method = findMergeMethod(spec.recipe.merge_method);
			expect(method, `method ${spec.recipe.merge_method}`).toBeDefined();
			if (!method) {
				return;
			}
			const warnings: string[] = [];
			const result = method.merge(buildInputs(method, loaded), buildContext(method, spec, warnings));
			expect(result).toBeDefined();
			if (!result) {
				return;
			}
			expect([...result.shape]).toEqual(expected.shape);
			expect(result.data.length).toBe(expected.data.length);
			const { tolerance } = spec;
			if (tolerance.bf16_ulps !== undefined) {
				let mismatches = 0;
				for (let i = 0; i < expected.data.length; i++) {
					const got = bf16Ordinal(f32ToBf16(result.data[i] as number));
					const want = bf16Ordinal(f32ToBf16(expected.data[i] as number));
					if (Math.abs(got - want) > tolerance.bf16_ulps) {
						mismatches++;
					}
				}
				expect(mismatches / expected.data.length).toBeLessThanOrEqual(tolerance.max_mismatch_fraction ?? 0);
				return;
			}
			const failures: string[] = [];
			let worst = 0;
			for (let i = 0; i < expected.data.length; i++) {
				const got = result.data[i] as number;
				const want = expected.data[i] as number;
				const error = Math.abs(got - want);
				const allowed = tolerance.atol + tolerance.rtol * Math.abs(want);
				worst = Math.max(worst, error / allowed);
				if (!(error <= allowed)) {
					failures.push(`[${i}] got ${got}, expected ${want}`);
				}
			}
			expect(failures.slice(0, 8), `${failures.length} elements out of tolerance (worst ${worst}× allowed)`).toEqual(
				[],
			);
		});
	}
});
