// `npm run test:browser`: the console in Debian's Chromium (see test/browser/).
// Kept apart from `npm test`, which a machine without a browser can run.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/browser/**/*.browser.ts"],
    testTimeout: 90_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
