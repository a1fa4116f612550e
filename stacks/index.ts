// The stacks `sst deploy` builds: Ordinal running the app of core/app.ts.
import { app } from "../core/app.js";
import { expandApp } from "../core/app-definition.js";
import { ordinalStack } from "./Ordinal.js";

export const Ordinal = ordinalStack(expandApp(app));
