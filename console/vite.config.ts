// The console's build: a static site under /console, its only backend the
// Ordinal API at the same origin (the local stack serves both; `npm run
// console:dev` proxies the API to a running `npm start`).
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

const api = process.env.ORDINAL_API ?? "http://localhost:4000";
const apiPaths = ["/command", "/commands", "/streams", "/microservices", "/me", "/admin", "/health", "/users", "/carts"];

export default defineConfig({
  root: import.meta.dirname,
  base: "/console/",
  plugins: [preact()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1000 },
  server: { proxy: Object.fromEntries(apiPaths.map((path) => [path, api])) },
});
