import { type Document, isScalar, LineCounter, parseAllDocuments, type YAMLError } from "yaml";
import { buildRecipe } from "./build-recipe.js";
import { AliasLimitError, createYamlReader, MAX_ALIAS_COUNT } from "./create-yaml-reader.js";
import type { Diagnostic, Recipe, SourceSpan } from "./recipe.js";
import { sortDiagnostics } from "./sort-diagnostics.js";

/** Recipes are a few kilobytes; anything this large is a mistake or an attack. */
export const MAX_RECIPE_BYTES = 256 * 1024;

export interface RecipeParseOptions {
	/** The file the text came from, copied onto every diagnostic. */
	file?: string;
	/** Lines before the recipe in a larger text (a chat message), added to every line number. */
	lineOffset?: number;
}

export interface ParsedRecipe {
	/** Undefined when the document could not be read as a recipe; the diagnostics then hold an error. */
	recipe: Recipe | undefined;
	diagnostics: Diagnostic[];
}

export interface RecipeDocuments {
	/** One entry per non-empty YAML document, in order. */
	documents: ParsedRecipe[];
	/** Problems with the text as a whole (size, unreadable YAML stream). */
	diagnostics: Diagnostic[];
	/** Lines (with the offset applied) of the `---` separators between non-empty documents. */
	separatorLines: number[];
}

/** Parses every YAML document of a recipe text into recipes; the shared step of `parseRecipe` and `parseRecipes`. */
export function readRecipeDocuments(text: string, options: RecipeParseOptions = {}): RecipeDocuments {
	const lineOffset = options.lineOffset ?? 0;
	const file = options.file;
	const withFile = (diagnostic: Diagnostic): Diagnostic => (file === undefined ? diagnostic : { ...diagnostic, file });
	const result: RecipeDocuments = { documents: [], diagnostics: [], separatorLines: [] };

	const bytes = Buffer.byteLength(text, "utf8");
	if (bytes > MAX_RECIPE_BYTES) {
		result.diagnostics.push(
			withFile({
				severity: "error",
				message: `the recipe is ${Math.ceil(bytes / 1024)} KiB; recipes are limited to ${MAX_RECIPE_BYTES / 1024} KiB (a merge recipe is usually under 5 KiB)`,
			}),
		);
		return result;
	}

	const lineCounter = new LineCounter();
	let documents: Document.Parsed[];
	try {
		const parsed = parseAllDocuments(text, {
			lineCounter,
			uniqueKeys: false,
			keepSourceTokens: true,
			prettyErrors: false,
		});
		documents = Array.isArray(parsed) ? parsed : [];
	} catch {
		// Pathological nesting can exhaust the parser's stack; no real recipe comes close.
		result.diagnostics.push(
			withFile({ severity: "error", message: "the recipe is nested too deeply to be read as YAML" }),
		);
		return result;
	}

	const nonEmpty = documents.filter((doc) => !isEmptyDocument(doc) || doc.errors.length > 0);
	let previousEnd = 0;
	for (const [index, doc] of nonEmpty.entries()) {
		const spanAt = (offset: number): SourceSpan => {
			const position = lineCounter.linePos(offset);
			return { line: position.line + lineOffset, column: position.col };
		};
		if (index > 0) {
			result.separatorLines.push(spanAt(doc.range[0]).line);
		}
		const source = nonEmpty.length === 1 ? text : documentText(text, previousEnd, doc.range[2]);
		previousEnd = doc.range[2];

		if (doc.errors.length > 0) {
			result.documents.push({ recipe: undefined, diagnostics: [withFile(syntaxError(text, doc.errors, spanAt))] });
			continue;
		}
		const reader = createYamlReader(doc, { lineCounter, lineOffset, file });
		for (const warning of doc.warnings) {
			const span = spanAt(warning.pos[0]);
			reader.warning(`YAML at line ${span.line}: ${firstLine(warning.message)}`, span);
		}
		try {
			const recipe = buildRecipe(reader, reader.resolve(doc.contents), source, file);
			result.documents.push({ recipe, diagnostics: sortDiagnostics(reader.diagnostics) });
		} catch (error) {
			if (!(error instanceof AliasLimitError)) {
				throw error;
			}
			result.documents.push({
				recipe: undefined,
				diagnostics: [
					withFile({
						severity: "error",
						message: `refused: the recipe expands YAML aliases (\`*name\`) more than ${MAX_ALIAS_COUNT} times or nests them too deeply (at line ${error.span.line}), the pattern of an "alias bomb"; write the values out instead`,
						span: error.span,
					}),
				],
			});
		}
	}
	return result;
}

function isEmptyDocument(doc: Document.Parsed): boolean {
	const { contents } = doc;
	return contents === null || (isScalar(contents) && contents.value === null && contents.source === "");
}

/** One document's own text: from the end of the previous one, without its leading `---` line. */
function documentText(text: string, start: number, end: number): string {
	return text.slice(start, end).replace(/^(?:\s*\n)*---[^\n]*\n?/, "");
}

/** The first YAML error, in words a recipe author can act on. Later errors are usually echoes of the first. */
function syntaxError(text: string, errors: readonly YAMLError[], spanAt: (offset: number) => SourceSpan): Diagnostic {
	const tabError = errors.find((error) => error.code === "TAB_AS_INDENT");
	const first = tabError ?? errors[0];
	const offset = first?.pos[0] ?? 0;
	const span = spanAt(offset);
	const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
	const indentation = /^[ \t]*/.exec(text.slice(lineStart))?.[0] ?? "";
	if (tabError !== undefined || indentation.includes("\t")) {
		return {
			severity: "error",
			message: `line ${span.line} has a tab in its indentation; YAML indents with spaces only. Replace the tab with spaces (2 per level is usual)`,
			span: { line: span.line, column: 1 },
		};
	}
	const more =
		errors.length > 1
			? ` (${errors.length - 1} more YAML error${errors.length > 2 ? "s follow" : " follows"} from it)`
			: "";
	return {
		severity: "error",
		message: `YAML syntax error at line ${span.line}, column ${span.column}: ${explain(first)}${more}`,
		span,
	};
}

function explain(error: YAMLError | undefined): string {
	if (error === undefined) {
		return "the text is not valid YAML";
	}
	const original = firstLine(error.message);
	switch (error.code) {
		case "BAD_INDENT":
		case "BLOCK_AS_IMPLICIT_KEY":
		case "MULTILINE_IMPLICIT_KEY":
			return `the indentation does not line up here; keys of one map start in the same column, and list items (\`- \`) under a key are indented the same way (${original})`;
		case "MISSING_CHAR":
			return /quote|flow|closing|[\]})]/i.test(original)
				? `${original}; check that every quote and bracket opened here is closed`
				: `${original}; check the indentation and the \`- \` of list items here`;
		case "DUPLICATE_KEY":
			return `${original}; remove one of the two`;
		case "BAD_ALIAS":
		case "ALIAS_PROPS":
			return `${original}; an alias is written \`*name\` and refers to an earlier \`&name\``;
		case "MULTIPLE_DOCS":
			return `${original}; separate documents with a \`---\` line`;
		case "UNEXPECTED_TOKEN":
			return `unexpected text here (${original}); a \`:\` or \`-\` may be missing, or a value needs quotes`;
		default:
			return original;
	}
}

function firstLine(message: string): string {
	return (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "").trim();
}
