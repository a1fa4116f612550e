// The stacks `sst deploy` builds: Ordinal running the app of core/app.ts, and
// the function defaults every stack of the app shares.
import { app } from "../core/app.js";
import { expandApp } from "../core/app-definition.js";
import type { FunctionProps } from "sst/constructs";
import { ordinalStack } from "./Ordinal.js";

export const Ordinal = ordinalStack(expandApp(app));

/** What every function of the app gets unless its entry says otherwise. */
export const functionDefaults: FunctionProps = {
  runtime: "nodejs24.x",
  architecture: "arm_64",
  memorySize: "512 MB",
  timeout: "30 seconds",
  // The Lambda runtime provides the AWS SDK v3: bundles leave it out, as the bundle test checks.
  nodejs: { format: "esm", esbuild: { external: ["@aws-sdk/*"] } },
};
