/** `owner/name` as the Hub allows it: no path tricks (`./x`, `../x`, `a/../b`), no leading dot or dash. */
export function isHubRepoId(path: string): boolean {
	return /^[A-Za-z0-9][\w-]*(\.[\w-]+)*\/[A-Za-z0-9][\w-]*(\.[\w-]+)*$/.test(path);
}
