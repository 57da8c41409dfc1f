import { existsSync, statSync } from "node:fs";
import { parseArgs } from "node:util";
import { compareModels } from "../../insight/compare-models.js";
import { renderComparisonText } from "../../insight/render-comparison-text.js";
import { EXIT } from "../exit-codes.js";
import type { CliIo } from "../main.js";

const USAGE = "usage: mergesmith compare DIR_A DIR_B [--json]\n";

/** `mergesmith compare DIR_A DIR_B`: how two (merged) models differ, per layer and module. */
export async function compareCommand(args: readonly string[], io: CliIo): Promise<number> {
	const { values, positionals } = parseArgs({
		args: [...args],
		allowPositionals: true,
		options: { json: { type: "boolean" } },
	});
	const [a, b, extra] = positionals;
	if (a === undefined || b === undefined || extra !== undefined) {
		io.stderr.write(USAGE);
		return EXIT.usage;
	}
	for (const dir of [a, b]) {
		if (!existsSync(dir) || !statSync(dir).isDirectory()) {
			io.stderr.write(`mergesmith compare: ${dir} is not a folder\n`);
			return EXIT.invalid;
		}
	}
	try {
		const comparison = await compareModels(a, b);
		io.stdout.write(values.json ? `${JSON.stringify(comparison, null, 2)}\n` : renderComparisonText(comparison));
		return EXIT.ok;
	} catch (error) {
		io.stderr.write(`mergesmith compare: ${(error as Error).message}\n`);
		return EXIT.invalid;
	}
}
