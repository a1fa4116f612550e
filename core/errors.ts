// One taxonomy of errors the API can answer with, and the one place that maps
// them to HTTP status codes.

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `payload.quantity`. */
  readonly field: string;
  /** The rule it broke, in words. */
  readonly rule: string;
}

/** Issues in words, as a ValidationError's message and a rejected command's give them. */
export const describeIssues = (issues: readonly FieldIssue[]): string =>
  issues.map((issue) => (issue.field ? `${issue.field}: ${issue.rule}` : issue.rule)).join("; ");

export class ValidationError extends Error {
  constructor(readonly issues: readonly FieldIssue[]) {
    super(describeIssues(issues));
  }
}

export class PayloadTooLargeError extends Error {}
/** No valid credentials: missing, malformed, badly signed, expired or for another audience. */
export class UnauthorizedError extends Error {}
/** Valid credentials that may not do this. */
export class ForbiddenError extends Error {}
export class NotFoundError extends Error {}
/** The request is valid but the resource's state refuses it now (a rebuild already running). */
export class ConflictError extends Error {}
export class MethodNotAllowedError extends Error {
  constructor(message: string, readonly allowed: readonly string[]) {
    super(message);
  }
}

export interface HttpAnswer {
  readonly statusCode: number;
  readonly body: Record<string, unknown>;
  readonly headers?: Record<string, string>;
}

export const toHttp = (error: unknown): HttpAnswer => {
  if (error instanceof ValidationError)
    return { statusCode: 400, body: { error: "ValidationError", message: error.message, issues: error.issues } };
  if (error instanceof PayloadTooLargeError) return { statusCode: 413, body: { error: "PayloadTooLarge", message: error.message } };
  if (error instanceof UnauthorizedError) return { statusCode: 401, body: { error: "Unauthorized", message: error.message } };
  if (error instanceof ForbiddenError) return { statusCode: 403, body: { error: "Forbidden", message: error.message } };
  if (error instanceof NotFoundError) return { statusCode: 404, body: { error: "NotFound", message: error.message } };
  if (error instanceof ConflictError) return { statusCode: 409, body: { error: "Conflict", message: error.message } };
  if (error instanceof MethodNotAllowedError)
    return {
      statusCode: 405,
      body: { error: "MethodNotAllowed", message: error.message },
      headers: { allow: error.allowed.join(", ") },
    };
  return { statusCode: 500, body: { error: "InternalError", message: "internal error" } };
};
