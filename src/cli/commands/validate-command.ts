import { parseArgs } from "node:util";
import { EXIT } from "../exit-codes.js";
import type { CliIo } from "../main.js";
import { readRecipeFile } from "../read-recipe-file.js";

export async function validateCommand(args: readonly string[], io: CliIo): Promise<number> {
	const { positionals } = parseArgs({ args: [...args], allowPositionals: true, options: {} });
	const [file, extra] = positionals;
	if (file === undefined || extra !== undefined) {
		io.stderr.write("usage: mergesmith validate RECIPE\n");
		return EXIT.usage;
	}
	const recipe = await readRecipeFile(file, io.stderr);
	if (!recipe) {
		return EXIT.invalid;
	}
	io.stdout.write(`${file}: valid ${recipe.mergeMethod} recipe\n`);
	return EXIT.ok;
}
