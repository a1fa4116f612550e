import type { RouteSpec } from "./topology.js";

export type RouteMatch =
  | { readonly kind: "route"; readonly route: RouteSpec; readonly pathParameters: Record<string, string> }
  | { readonly kind: "wrong-method"; readonly allowed: readonly string[] }
  | { readonly kind: "none" };

/** A matcher over a topology's routes that finds a request's route as API Gateway would. */
export const routeMatcher = (routes: readonly RouteSpec[]) => {
  const compiled = routes.map((route) => ({
    route,
    pattern: new RegExp(
      "^" + route.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{(\w+)\\?\}/g, (_, name: string) => `(?<${name}>[^/]+)`) + "$",
    ),
  }));
  return (method: string, path: string): RouteMatch => {
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
};

/** The key API Gateway names a route by: `GET /carts/{cartId}`. */
export const routeKeyOf = (route: Pick<RouteSpec, "method" | "path">): string => `${route.method} ${route.path}`;
