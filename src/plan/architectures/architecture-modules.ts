import type { Architecture, ArchitectureModule } from "./architecture.js";

/** The modules a layout has: its own list for multi-module layouts, else the one module `default`. */
export function architectureModules(architecture: Architecture): readonly ArchitectureModule[] {
	return (
		architecture.modules ?? [
			{
				name: "default",
				layerPrefix: undefined,
				preWeights: architecture.preWeights,
				layerWeights: architecture.layerWeights,
				postWeights: architecture.postWeights,
				numLayersConfigKey: architecture.numLayersConfigKey,
			},
		]
	);
}
