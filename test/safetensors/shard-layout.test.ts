import { describe, expect, it } from "vitest";
import { layoutShards } from "../../src/safetensors/shard-layout.js";

const tensor = (name: string, elements: number) => ({ name, dtype: "F32" as const, shape: [elements] });

describe("shard layout", () => {
	it("writes one model.safetensors and no index when everything fits", () => {
		const layout = layoutShards([tensor("a", 10), tensor("b", 10)], 1000);
		expect(layout.shards.map((shard) => shard.fileName)).toEqual(["model.safetensors"]);
		expect(layout.indexJson).toBeUndefined();
		expect(layout.totalSize).toBe(80);
	});

	it("closes a shard before a tensor that would overflow it, as mergekit does, and gives an oversized tensor its own", () => {
		const layout = layoutShards([tensor("a", 10), tensor("b", 10), tensor("c", 100), tensor("d", 5)], 80);
		expect(layout.shards.map((shard) => shard.tensors.map((t) => t.name))).toEqual([["a", "b"], ["c"], ["d"]]);
		expect(layout.shards.map((shard) => shard.fileName)).toEqual([
			"model-00001-of-00003.safetensors",
			"model-00002-of-00003.safetensors",
			"model-00003-of-00003.safetensors",
		]);
		const index = JSON.parse(layout.indexJson ?? "{}") as {
			metadata: { total_size: number };
			weight_map: Record<string, string>;
		};
		expect(index.metadata.total_size).toBe(4 * 125);
		expect(index.weight_map.c).toBe("model-00002-of-00003.safetensors");
	});
});
