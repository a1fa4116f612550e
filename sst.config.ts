import type { SSTConfig } from "sst";
import { functionDefaults, Ordinal } from "./stacks/index.js";

export default {
  config() {
    return { name: "ordinal", region: "us-east-1" };
  },
  // A method, not an arrow property: SST's shallow config load strips `stacks` by that shape.
  stacks(app) {
    app.setDefaultFunctionProps(functionDefaults);
    app.stack(Ordinal);
  },
} satisfies SSTConfig;
