import { Cron } from "croner";

/**
 * The first time strictly after `after` (ms epoch) at which `cron` fires in `timezone` (IANA, e.g. Europe/Paris;
 * daylight-saving changes included), or undefined if it never fires again. Throws an Error naming the expression or
 * the timezone when either is invalid, so that definitions are refused with a readable reason.
 */
export function nextCronRun(cron: string, timezone: string, after: number): number | undefined {
	let next: Date | null;
	try {
		// Paused, and without a callback: croner only computes times here, it starts no timer.
		next = new Cron(cron, { paused: true, timezone }).nextRun(new Date(after));
	} catch (error) {
		const reason = (error as Error).message.replace(/^\w+: /, "");
		throw new Error(
			/timezone/i.test(reason)
				? `\`${timezone}\` is not a timezone (use an IANA name such as UTC or Europe/Paris)`
				: `\`${cron}\` is not a cron expression: ${reason}`,
		);
	}
	return next === null ? undefined : next.getTime();
}
