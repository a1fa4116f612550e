// The API Gateway part of the local stack: HTTP requests become the same
// APIGatewayProxyEventV2 the Lambda handlers receive on AWS.
import { existsSync } from "node:fs";
import sirv from "sirv";
import type { APIGatewayEventRequestContextV2, APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { PayloadTooLargeError, toHttp, UnauthorizedError } from "../core/errors.js";
import { routeKeyOf, routeMatcher } from "../core/routing.js";
import type { RouteAuth, RouteSpec } from "../core/topology.js";
import { respond, type HttpHandler } from "../functions/http.js";
import type { AuthorizerContext } from "../functions/identity.js";
import { verifyBearer, type JwtSettings } from "./jwt.js";
import { verifySigV4, type IamPrincipal, type SignedRequest } from "./sigv4.js";

/** The authorizers API Gateway runs before a route's function. */
export interface GatewayAuth {
  /** Checks users' bearer tokens on `jwt` routes and the fallback; without it, those routes are open and the body says who calls. */
  readonly jwt?: JwtSettings;
  /** Who may sign requests to `iam` routes; those always need a signature. */
  readonly principals: readonly IamPrincipal[];
}

/** The authorizer context for a request to a route with `auth`, or UnauthorizedError (the function is not called). */
const authorize = (auth: GatewayAuth, kind: RouteAuth, request: SignedRequest): Promise<AuthorizerContext | undefined> | undefined =>
  kind === "iam" ? verifySigV4(request, auth.principals) : auth.jwt ? verifyBearer(auth.jwt, request.headers.authorization) : undefined;

/** API Gateway's own payload limit; handlers enforce their smaller ones. */
const GATEWAY_MAX_BYTES = 10 * 1024 * 1024;

const readBody = (request: IncomingMessage): Promise<Buffer | "too-large"> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= GATEWAY_MAX_BYTES) chunks.push(chunk);
    });
    request.on("end", () => resolve(size > GATEWAY_MAX_BYTES ? "too-large" : Buffer.concat(chunks)));
    request.on("error", reject);
  });

const headersOf = (request: IncomingMessage): Record<string, string> =>
  Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : (v ?? "")]));

const toEvent = (
  request: IncomingMessage,
  url: URL,
  headers: Record<string, string>,
  body: Buffer,
  routeKey: string,
  pathParameters: Record<string, string> | undefined,
  authorizer: AuthorizerContext | undefined,
): APIGatewayProxyEventV2 => {
  const query = Object.fromEntries(url.searchParams);
  const requestContext: APIGatewayEventRequestContextV2 & { authorizer?: AuthorizerContext } = {
    accountId: "local",
    apiId: "local",
    ...(authorizer ? { authorizer } : {}),
    domainName: url.host,
    domainPrefix: "local",
    http: { method: request.method ?? "GET", path: url.pathname, protocol: "HTTP/1.1", sourceIp: request.socket.remoteAddress ?? "", userAgent: request.headers["user-agent"] ?? "" },
    requestId: `${Date.now()}-${Math.random().toString(36).slice(2)}`,
    routeKey,
    stage: "$default",
    time: new Date().toISOString(),
    timeEpoch: Date.now(),
  };
  return {
    version: "2.0",
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    pathParameters,
    body: body.length ? body.toString("utf8") : undefined,
    isBase64Encoded: false,
    requestContext,
  };
};

/** A folder of built files served under a path prefix (the console at /console). */
export interface StaticSite {
  readonly prefix: string;
  readonly dir: string;
}

/**
 * Serves the topology's routes with the given handlers (by route key) and
 * the fallback for the rest, each behind its route's authorizer (`jwt` for the fallback).
 */
export const startServer = (
  port: number,
  routes: readonly RouteSpec[],
  handlers: Readonly<Record<string, HttpHandler>>,
  fallback: HttpHandler,
  auth: GatewayAuth,
  site?: StaticSite,
): Promise<{ server: Server; port: number }> => {
  const matchRoute = routeMatcher(routes);
  // The console's built files, as a static site would serve them (on AWS: a CDN in front of S3): no authorizer, the page asks for a token.
  const files = site && existsSync(site.dir) ? sirv(site.dir, { single: true, dev: false, etag: true }) : undefined;
  const server = createServer(async (request, response) => {
    if (site && (request.url === site.prefix || request.url?.startsWith(`${site.prefix}/`))) {
      if (!files) {
        response.writeHead(503, { "content-type": "text/plain; charset=utf-8" });
        return response.end(`the console is not built: npm run console:build (${site.dir} is missing)\n`);
      }
      if (request.url === site.prefix) {
        response.writeHead(301, { location: `${site.prefix}/` });
        return response.end();
      }
      request.url = request.url.slice(site.prefix.length) || "/";
      return files(request, response, () => {
        response.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
        response.end("not found\n");
      });
    }
    const send = (result: APIGatewayProxyStructuredResultV2) => {
      response.writeHead(result.statusCode ?? 200, Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])));
      response.end(typeof result.body === "string" ? result.body : "");
    };
    try {
      const url = new URL(request.url ?? "/", `http://${request.headers.host ?? "localhost"}`);
      const body = await readBody(request);
      if (body === "too-large") return send(respond(toHttp(new PayloadTooLargeError("request too large"))));
      const match = matchRoute(request.method ?? "GET", url.pathname);
      const routeKey = match.kind === "route" ? routeKeyOf(match.route) : "$default";
      const handler = match.kind === "route" ? handlers[routeKey] : fallback;
      if (!handler) throw new Error(`no local handler for ${routeKey}`);
      const kind = match.kind === "route" ? (match.route.auth ?? "jwt") : "jwt";
      const headers = headersOf(request);
      const authorizer = await authorize(auth, kind, { method: request.method ?? "GET", url, headers, body });
      send(await handler(toEvent(request, url, headers, body, routeKey, match.kind === "route" ? match.pathParameters : undefined, authorizer)));
    } catch (error) {
      // As API Gateway answers for an authorizer that refuses: the function never runs.
      if (error instanceof UnauthorizedError) return send(respond(toHttp(error)));
      send(respond({ statusCode: 500, body: { error: "InternalError", message: String(error) } }));
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      resolve({ server, port: typeof address === "object" && address ? address.port : port });
    });
  });
};
