// The reference app (core/app.ts), expanded as the stacks and the local
// runtime run it: what tests of "every microservice / projection / consumer"
// derive their sets from.
import { app } from "../../core/app.js";
import { expandApp } from "../../core/app-definition.js";

export const referenceApp = expandApp(app);
export const { topology } = referenceApp;
