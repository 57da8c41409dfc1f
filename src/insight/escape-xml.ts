/** Text safe inside an XML element or a double-quoted attribute. */
export function escapeXml(text: string): string {
	return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
