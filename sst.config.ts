import type { SSTConfig } from "sst";
import { Ordinal } from "./stacks/index.js";

export default {
  config() {
    return { name: "ordinal", region: "us-east-1" };
  },
  // A method, not an arrow property: SST's shallow config load strips `stacks` by that shape.
  stacks(app) {
    app.setDefaultFunctionProps({
      runtime: "nodejs22.x",
      architecture: "arm_64",
      memorySize: "512 MB",
      timeout: "30 seconds",
      nodejs: { format: "esm" },
    });
    app.stack(Ordinal);
  },
} satisfies SSTConfig;
