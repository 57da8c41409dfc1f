import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listFiles, whoAmI } from "@huggingface/hub";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hubCommand } from "../../src/cli/commands/hub-command.js";
import { main } from "../../src/cli/main.js";
import { createHubApp } from "../../src/hub-server/create-hub-app.js";
import { HubStore } from "../../src/hub-server/hub-store.js";
import { seedHub } from "../../src/hub-server/seed-hub.js";

function capture() {
	let text = "";
	return { output: { write: (chunk: string) => (text += chunk) }, text: () => text };
}

describe("mergesmith hub", () => {
	let dataDir: string;
	beforeEach(async () => {
		dataDir = await mkdtemp(join(tmpdir(), "mergesmith-hub-cli-"));
	});
	afterEach(async () => {
		await rm(dataDir, { recursive: true, force: true });
	});

	it("starts on 127.0.0.1, seeds tiny models of every family with documented tokens, and stops", async () => {
		const stdout = capture();
		const stderr = capture();
		let stop = (): void => undefined;
		const stopped = new Promise<void>((resolve) => {
			stop = resolve;
		});
		const running = hubCommand(
			["--data", dataDir, "--port", "0", "--seed"],
			{ stdout: stdout.output, stderr: stderr.output, env: {} },
			stopped,
		);
		for (let i = 0; i < 200 && !stdout.text().includes("use it with"); i++) {
			await new Promise((resolve) => setTimeout(resolve, 10));
		}
		const url = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout.text())?.[1] ?? "";
		expect(url).not.toBe("");
		expect(stdout.text()).toContain("not huggingface.co");
		expect(stdout.text()).toContain("alice: hf_alice_local_write, hf_alice_local_read");
		const me = await whoAmI({ hubUrl: url, accessToken: "hf_alice_local_write" });
		expect(me.name).toBe("alice");
		for (const family of ["llama", "mistral", "qwen2", "gemma2", "phi3"]) {
			const paths: string[] = [];
			for await (const entry of listFiles({ hubUrl: url, repo: `tiny-models/tiny-${family}` })) {
				paths.push(entry.path);
			}
			expect(paths).toEqual(expect.arrayContaining(["config.json", "model.safetensors", "README.md"]));
		}
		stop();
		expect(await running).toBe(0);
		expect(stderr.text()).toBe("");
	});

	it("refuses a bad command line with exit code 2", async () => {
		const stderr = capture();
		const io = { stdout: capture().output, stderr: stderr.output, env: {} };
		expect(await main(["hub", "--port", "http"], io)).toBe(2);
		expect(stderr.text()).toContain("usage: mergesmith hub");
	});

	it("is a hono app that answers app.request without a network", async () => {
		const store = await HubStore.open(dataDir);
		await seedHub(store, { users: [{ name: "dev", tokens: [{ token: "hf_dev" }] }] });
		const app = createHubApp({ store });
		const response = await app.request("/api/whoami-v2", { headers: { Authorization: "Bearer hf_dev" } });
		expect(response.status).toBe(200);
		expect(response.headers.get("X-Request-Id")).toMatch(/^Root=1-/);
		expect(await response.json()).toMatchObject({ name: "dev", auth: { accessToken: { role: "write" } } });
		const missing = await app.request("/api/models/dev/none");
		expect(missing.status).toBe(401);
		await store.flush();
	});
});
