/** Resolves at SIGINT or SIGTERM, so that a server command runs until the user stops it. */
export function untilSignal(): Promise<void> {
	return new Promise((resolve) => {
		const stop = (): void => {
			process.off("SIGINT", stop);
			process.off("SIGTERM", stop);
			resolve();
		};
		process.on("SIGINT", stop);
		process.on("SIGTERM", stop);
	});
}
