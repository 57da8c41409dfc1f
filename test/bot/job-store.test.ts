import { describe, expect, it } from "vitest";
import { JobStore } from "../../src/bot/job-store.js";

function request(commentId: string) {
	return {
		repo: "org/model",
		discussion: 3,
		requestCommentId: commentId,
		requester: { id: "u1", name: "alice" },
		recipe: "merge_method: linear",
		recipeLineOffset: 0,
		outputRepo: "bot/out",
		private: false,
		replyCommentId: undefined,
	};
}

describe("the job store", () => {
	it("records each delivery once, and one job per request comment", () => {
		const store = new JobStore(":memory:");
		expect(store.recordDelivery("comment:1")).toBe(true);
		expect(store.recordDelivery("comment:1")).toBe(false);
		const first = store.createJob(request("c1"));
		expect(store.createJob(request("c1")).id).toBe(first.id);
		expect(store.jobsInThread("org/model", 3)).toHaveLength(1);
	});

	it("hands a job to one worker, and to the next only after the first one's lease expires", () => {
		let now = 1_000;
		const store = new JobStore(":memory:", { now: () => now });
		const job = store.createJob(request("c1"));
		expect(store.queuePosition(job.id)).toBe(1);
		const claimed = store.claimNextJob("worker-a", 60_000);
		expect(claimed?.id).toBe(job.id);
		expect(claimed?.attempts).toBe(1);
		expect(store.claimNextJob("worker-b", 60_000)).toBeUndefined();
		now += 30_000;
		expect(store.heartbeat(job.id, "worker-a", 60_000)).toBe(true);
		now += 61_000;
		const recovered = store.claimNextJob("worker-b", 60_000);
		expect(recovered?.attempts).toBe(2);
		expect(store.heartbeat(job.id, "worker-a", 60_000)).toBe(false);
		expect(store.finish(job.id, "worker-a", { state: "succeeded", result: {} })).toBe(false);
		expect(store.finish(job.id, "worker-b", { state: "succeeded", result: { url: "u" } })).toBe(true);
		expect(store.getJob(job.id)?.result).toEqual({ url: "u" });
		expect(store.events(job.id).map((event) => (event.data as { state: string }).state)).toEqual([
			"queued",
			"running",
			"running",
			"succeeded",
		]);
	});

	it("delays a retried job and lets a cancelled job go", () => {
		let now = 0;
		const store = new JobStore(":memory:", { now: () => now });
		const job = store.createJob(request("c1"));
		store.claimNextJob("w", 1000);
		store.retryLater(job.id, "w", 5000, "Hub answered 503");
		expect(store.claimNextJob("w", 1000)).toBeUndefined();
		now = 5000;
		expect(store.claimNextJob("w", 1000)?.attempts).toBe(2);
		expect(store.cancel(job.id)).toBe(true);
		expect(store.heartbeat(job.id, "w", 1000)).toBe(false);
		expect(store.getJob(job.id)?.state).toBe("cancelled");
	});
});
