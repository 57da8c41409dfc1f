/** Shared look of the report's SVG charts: on white, so that they read on the Hub's dark theme too. */
export const CHART_FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

/** Colour-blind-safe categorical colours (Okabe–Ito), one per model. */
export const MODEL_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

export const AXIS_COLOR = "#555555";
export const GRID_COLOR = "#e3e3e3";
