import { parseArgs } from "node:util";
import { EXIT } from "../exit-codes.js";
import type { CliIo } from "../main.js";
import { readRecipeStages } from "../read-recipe-stages.js";

export async function validateCommand(args: readonly string[], io: CliIo): Promise<number> {
	const { positionals } = parseArgs({ args: [...args], allowPositionals: true, options: {} });
	const [file, extra] = positionals;
	if (file === undefined || extra !== undefined) {
		io.stderr.write("usage: mergesmith validate RECIPE\n");
		return EXIT.usage;
	}
	const read = await readRecipeStages(file, io.stderr);
	if (!read) {
		return EXIT.invalid;
	}
	const { stages } = read;
	const [only] = stages;
	if (stages.length === 1 && only !== undefined) {
		io.stdout.write(`${file}: valid ${only.recipe.mergeMethod} recipe\n`);
	} else {
		const order = stages.map((stage) => `${stage.name ?? "final"} (${stage.recipe.mergeMethod})`).join(" → ");
		io.stdout.write(`${file}: valid ${stages.length}-stage recipe: ${order}\n`);
	}
	return EXIT.ok;
}
