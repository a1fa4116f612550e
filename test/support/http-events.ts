// API Gateway (HTTP API, payload 2.0) events for calling route handlers directly.
import type { APIGatewayProxyEventV2 } from "aws-lambda";

export const httpEvent = ({
  method = "GET",
  path,
  pathParameters,
  query,
  body,
}: {
  method?: string;
  path: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}): APIGatewayProxyEventV2 => ({
  version: "2.0",
  routeKey: `${method} ${path}`,
  rawPath: path,
  rawQueryString: new URLSearchParams(query).toString(),
  headers: { "content-type": "application/json" },
  queryStringParameters: query,
  pathParameters,
  body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  isBase64Encoded: false,
  requestContext: {
    accountId: "test",
    apiId: "test",
    domainName: "localhost",
    domainPrefix: "localhost",
    http: { method, path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "vitest" },
    requestId: "test",
    routeKey: `${method} ${path}`,
    stage: "$default",
    time: "23/Nov/2026:14:00:00 +0000",
    timeEpoch: 0,
  },
});

/** The status and parsed JSON body a handler answered. */
export const answerOf = (result: { statusCode?: number; body?: string }) => ({ status: result.statusCode, body: JSON.parse(result.body ?? "null") });
