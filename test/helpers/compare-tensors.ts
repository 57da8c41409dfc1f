// The comparison lives in src/fixtures so that scripts/gpu-check.sh's golden run (dist) uses the very same one.
export { compareTensors, type Tolerance } from "../../src/fixtures/compare-tensors.js";
