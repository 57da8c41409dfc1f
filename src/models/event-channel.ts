/**
 * A queue between concurrent producers and one async-generator consumer: producers `push`, the consumer iterates
 * `drain()` until `close()` (or until `fail(error)`, which it then throws).
 */
export interface EventChannel<T> {
	push(event: T): void;
	close(): void;
	fail(error: unknown): void;
	drain(): AsyncGenerator<T>;
}

export function createEventChannel<T>(): EventChannel<T> {
	const queue: T[] = [];
	let ended = false;
	let failure: { error: unknown } | undefined;
	let wake: (() => void) | undefined;
	const notify = (): void => {
		wake?.();
		wake = undefined;
	};
	return {
		push(event) {
			queue.push(event);
			notify();
		},
		close() {
			ended = true;
			notify();
		},
		fail(error) {
			failure = { error };
			ended = true;
			notify();
		},
		async *drain() {
			for (;;) {
				while (queue.length > 0) {
					yield queue.shift() as T;
				}
				if (failure) {
					throw failure.error;
				}
				if (ended) {
					return;
				}
				await new Promise<void>((resolve) => {
					wake = resolve;
				});
			}
		},
	};
}
