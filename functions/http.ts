// Lambda glue shared by the API handlers: JSON in, JSON out, errors mapped once.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { PayloadTooLargeError, toHttp, ValidationError, type HttpAnswer } from "../core/errors.js";
import { logger } from "./deps.js";

export type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

export const MAX_BODY_BYTES = 64 * 1024;

/** An answer as API Gateway sends it: JSON, with the answer's own headers. */
export const respond = ({ statusCode, body, headers }: HttpAnswer): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

/** Wraps a route: whatever it throws becomes the matching 4xx, or a logged 500. */
export const http =
  (route: (event: APIGatewayProxyEventV2) => Promise<HttpAnswer>): HttpHandler =>
  async (event) => {
    try {
      return respond(await route(event));
    } catch (error) {
      const answer = toHttp(error);
      if (answer.statusCode >= 500) logger.error("request failed", { error: error as Error, path: event.rawPath });
      return respond(answer);
    }
  };

/** The JSON body, refusing oversized or malformed ones before anything else runs. */
export const jsonBody = (event: APIGatewayProxyEventV2): unknown => {
  const raw = event.body === undefined ? "" : event.isBase64Encoded ? Buffer.from(event.body, "base64") : Buffer.from(event.body);
  if (raw.length > MAX_BODY_BYTES)
    throw new PayloadTooLargeError(`the body is ${raw.length} bytes; at most ${MAX_BODY_BYTES} are accepted`);
  if (raw.length === 0) throw new ValidationError([{ field: "", rule: "the body is empty: send a JSON object" }]);
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch (error) {
    throw new ValidationError([{ field: "", rule: `the body is not valid JSON (${(error as Error).message})` }]);
  }
};

/** An optional integer query or path parameter within bounds, else a 400 naming it. */
export const integerParam = (
  value: string | undefined,
  field: string,
  { min, max, fallback }: { min: number; max: number; fallback?: number },
): number | undefined => {
  if (value === undefined || value === "") return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max)
    throw new ValidationError([{ field, rule: `must be an integer from ${min} to ${max}, not '${value}'` }]);
  return number;
};

/** Builds the real handler on first use, so importing a handler file has no side effects. */
export const lazy = <A extends unknown[], R>(make: () => (...args: A) => R): ((...args: A) => R) => {
  let built: ((...args: A) => R) | undefined;
  return (...args: A) => (built ??= make())(...args);
};
