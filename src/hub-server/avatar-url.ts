import { createHash } from "node:crypto";

/** An avatar path in the Hub's form (`/avatars/<md5>.svg`). */
export function avatarUrl(name: string): string {
	return `/avatars/${createHash("md5").update(name).digest("hex")}.svg`;
}
