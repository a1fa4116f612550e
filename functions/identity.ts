// Who is calling, as API Gateway's authorizer established it: the claims of a
// user's JWT, or the IAM principal that signed a service's request. Never the body,
// except on the local stack started without --auth.
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { Caller } from "../core/envelope.js";
import { ForbiddenError, UnauthorizedError } from "../core/errors.js";
import { SERVICE_ROLE } from "../core/keys.js";
import type { RouteSpec } from "../core/topology.js";
import type { ApiDeps } from "./deps.js";

/** `requestContext.authorizer` of an HTTP API (payload 2.0) event, as API Gateway fills it. */
export interface AuthorizerContext {
  readonly jwt?: {
    /** API Gateway hands claims on as strings; an array claim becomes "[a b]". */
    readonly claims?: Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;
    readonly scopes?: readonly string[] | null;
  };
  readonly iam?: {
    readonly accessKey?: string;
    readonly accountId?: string;
    readonly callerId?: string;
    readonly userArn?: string;
    readonly userId?: string;
  };
}


/**
 * Roles from a `roles` claim: a JSON array, API Gateway's flattened "[admin service]",
 * or a space- or comma-separated string. Role names hold no spaces, commas or quotes.
 */
export const rolesOf = (claim: unknown): string[] => {
  const items = Array.isArray(claim)
    ? claim.filter((item): item is string => typeof item === "string")
    : typeof claim === "string"
      ? claim.trim().replace(/^\[|\]$/g, "").split(/[\s,]+/)
      : [];
  const roles = items.map((item) => item.trim().replace(/^"|"$/g, "")).filter(Boolean);
  return [...new Set(roles)];
};

const authorizerOf = (event: APIGatewayProxyEventV2): AuthorizerContext | undefined =>
  (event.requestContext as { authorizer?: AuthorizerContext | null }).authorizer ?? undefined;

/**
 * The caller of a request; undefined only where `deps.identityFromBody` lets the
 * body say who it is. A request that reached a handler without an authorizer's
 * context anywhere else is refused (401): on AWS that is a route left open.
 */
export const callerOf = (event: APIGatewayProxyEventV2, deps: Pick<ApiDeps, "identityFromBody">): Caller | undefined => {
  const authorizer = authorizerOf(event);
  if (authorizer?.jwt) {
    const { sub, roles } = authorizer.jwt.claims ?? {};
    if (typeof sub !== "string" || sub === "") throw new UnauthorizedError("the token names no user: it has no sub claim");
    return { user: sub, roles: rolesOf(roles) };
  }
  if (authorizer?.iam) {
    const user = authorizer.iam.userArn || authorizer.iam.callerId;
    if (!user) throw new UnauthorizedError("the signed request names no IAM principal");
    return { user, roles: [SERVICE_ROLE] };
  }
  if (deps.identityFromBody) return undefined;
  throw new UnauthorizedError("no credentials: send Authorization: Bearer <JWT>, or sign the request (SigV4) on /service/command");
};

/**
 * The caller of a route that requires roles (RouteSpec.roles, found by the
 * event's route key): 403 for a caller with none of them. Without a caller
 * (identity from the body) there is no one to check.
 */
export const authorizeRoute = (
  event: APIGatewayProxyEventV2,
  deps: Pick<ApiDeps, "identityFromBody">,
  route: Pick<RouteSpec, "roles">,
): Caller | undefined => {
  const caller = callerOf(event, deps);
  const needed = route.roles ?? [];
  if (caller && needed.length > 0 && !needed.some((role) => caller.roles.includes(role)))
    throw new ForbiddenError(
      `${event.routeKey} needs the role ${needed.join(" or ")}; ${caller.user} has ${caller.roles.length ? caller.roles.join(", ") : "no role"}`,
    );
  return caller;
};
