// The reference app's stack, synthesized offline through sst.config.ts's own
// stacks(), so the app-wide function defaults under test are the ones
// `sst deploy` uses; checked against its expanded topology.
import config from "../sst.config.js";
import { Ordinal } from "../stacks/index.js";
import { referenceApp } from "./support/app.js";
import { describeStackTemplate } from "./support/stack-template.js";

describeStackTemplate({
  app: referenceApp,
  build: async (app) => {
    await config.stacks(app);
    return Ordinal;
  },
});
