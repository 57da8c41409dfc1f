import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";

/** The `license:` of a model card's front matter (README.md), if the folder has one. */
export async function readCardLicense(dir: string): Promise<string | undefined> {
	const file = join(dir, "README.md");
	if (!existsSync(file)) {
		return undefined;
	}
	const match = /^---\r?\n([\s\S]*?)\r?\n---/.exec(await readFile(file, "utf8"));
	if (!match) {
		return undefined;
	}
	try {
		const front: unknown = parse(match[1] as string);
		const license = (front as { license?: unknown } | null)?.license;
		return typeof license === "string" ? license : undefined;
	} catch {
		return undefined;
	}
}
