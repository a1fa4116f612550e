import { routes, type RouteSpec } from "./topology.js";

const compiled = routes.map((route) => ({
  route,
  pattern: new RegExp(
    "^" + route.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{(\w+)\\?\}/g, (_, name: string) => `(?<${name}>[^/]+)`) + "$",
  ),
}));

export type RouteMatch =
  | { readonly kind: "route"; readonly route: RouteSpec; readonly pathParameters: Record<string, string> }
  | { readonly kind: "wrong-method"; readonly allowed: readonly string[] }
  | { readonly kind: "none" };

/** Finds the topology route for a request, as API Gateway would. */
export const matchRoute = (method: string, path: string): RouteMatch => {
  const allowed: string[] = [];
  for (const { route, pattern } of compiled) {
    const match = pattern.exec(path);
    if (!match) continue;
    if (route.method === method.toUpperCase()) {
      const pathParameters = Object.fromEntries(
        Object.entries(match.groups ?? {}).map(([name, value]) => [name, decodeURIComponent(value)]),
      );
      return { kind: "route", route, pathParameters };
    }
    allowed.push(route.method);
  }
  return allowed.length ? { kind: "wrong-method", allowed } : { kind: "none" };
};
