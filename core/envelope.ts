import { z } from "zod";
import { forbiddenRole, type AnyMicroservice } from "./decider.js";
import { ForbiddenError, ValidationError, type FieldIssue } from "./errors.js";

// Tells a missing field from a wrong-typed one.
const required = (rule: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? "is required" : rule) });

// Aggregate ids end up in keys and URLs (`cart:c-42`, `/carts/c-42`), so keep them plain.
export const aggregateId = z
  .string(required("must be a string"))
  .regex(/^[A-Za-z0-9._-]{1,128}$/, "must be 1-128 characters of letters, digits, '.', '_' or '-'");

/** Whether `value` may name an aggregate: what a command's `aggregateId` must be. */
export const isAggregateId = (value: string): boolean => aggregateId.safeParse(value).success;

const text = (rule = "must be a string") => z.string(required(rule)).min(1, "must be a non-empty string");

const envelopeSchema = z.strictObject({
  type: text(),
  command: text(),
  // Optional here: a microservice with a single aggregate takes commands without one (see aggregateOf).
  aggregateId: aggregateId.optional(),
  id: z.union(
    [z.string().min(1).max(128), z.number().int().nonnegative()],
    required("must be a string of 1-128 characters or a non-negative integer"),
  ),
  timestamp: z.number("must be a number: milliseconds since the epoch").int("must be an integer").nonnegative("must not be negative").optional(),
  user: text().max(128, "must be at most 128 characters").optional(),
  roles: z.array(z.string().min(1).max(64), "must be an array of role names").max(16, "must name at most 16 roles").optional(),
  correlationId: z.string("must be a string").min(1, "must be a non-empty string").max(512, "must be at most 512 characters").optional(),
  causationId: z.string("must be a string").min(1, "must be a non-empty string").max(512, "must be at most 512 characters").optional(),
  payload: z.record(z.string(), z.unknown(), { error: "must be a JSON object" }).default({}),
});

/** A command as a client sends it, after validation. */
export interface CommandEnvelope {
  readonly type: string;
  readonly command: string;
  readonly aggregateId: string;
  readonly id: string | number;
  readonly timestamp?: number;
  readonly user: string;
  /** The caller's roles; none when absent. */
  readonly roles?: readonly string[];
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly payload: Record<string, unknown>;
}

/** Who sends a command, as an authorizer established it. */
export interface Caller {
  readonly user: string;
  readonly roles: readonly string[];
}

export const issuesOf = (error: z.ZodError, prefix = ""): FieldIssue[] =>
  error.issues.flatMap((issue) => {
    const at = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
    if (issue.code === "unrecognized_keys")
      return issue.keys.map((key) => ({ field: [at, key].filter(Boolean).join("."), rule: "is not a known field" }));
    return [{ field: at, rule: issue.message }];
  });

const describe = (value: unknown) => (value === null ? "null" : Array.isArray(value) ? "an array" : typeof value);

/** A JSON body checked against `schema`: not an object, or any broken rule, is a ValidationError naming the field. */
export const parseBody = <S extends z.ZodType>(schema: S, body: unknown): z.output<S> => {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new ValidationError([{ field: "", rule: `the body must be a JSON object, not ${describe(body)}` }]);
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ValidationError(issuesOf(parsed.error));
  return parsed.data;
};

/**
 * Validates everything a command needs before anything is written: the
 * envelope, the caller, the microservice, the command name, the payload's
 * schema, and that the caller's roles may send that command (403).
 *
 * With a `caller` (from an authorizer) the body must not claim an identity;
 * without one (the open local stack) `user` and `roles` come from the body.
 */
export const parseEnvelope = (
  body: unknown,
  microservices: Readonly<Record<string, AnyMicroservice>>,
  caller?: Caller,
): { envelope: CommandEnvelope; microservice: AnyMicroservice } => {
  const parsed = parseEnvelopeFields(body, microservices);
  if (caller) {
    const claimed = (["user", "roles"] as const).filter((field) => parsed[field] !== undefined);
    if (claimed.length)
      throw new ValidationError(claimed.map((field) => ({ field, rule: "must not be sent: the caller's identity comes from its credentials" })));
  } else if (parsed.user === undefined) throw new ValidationError([{ field: "user", rule: "is required" }]);
  const envelope = { ...parsed, user: caller?.user ?? parsed.user!, roles: caller?.roles ?? parsed.roles ?? [] };
  const microservice = microservices[envelope.type];
  if (!microservice)
    throw new ValidationError([
      { field: "type", rule: `unknown microservice '${envelope.type}'; known: ${Object.keys(microservices).join(", ")}` },
    ]);
  const resolved = { ...envelope, aggregateId: aggregateOf(microservice, envelope.aggregateId) };
  const schema = microservice.commands[envelope.command];
  if (!schema)
    throw new ValidationError([
      {
        field: "command",
        rule: `unknown command '${envelope.command}' for ${microservice.name}; known: ${Object.keys(microservice.commands).join(", ")}`,
      },
    ]);
  const payload = schema.safeParse(envelope.payload);
  if (!payload.success) throw new ValidationError(issuesOf(payload.error, "payload"));
  const forbidden = forbiddenRole(microservice, envelope.command, envelope.roles ?? []);
  if (forbidden) throw new ForbiddenError(forbidden);
  return { envelope: { ...resolved, payload: payload.data }, microservice };
};

/** The envelope's own fields, every broken rule at once: a missing aggregateId too, unless the microservice needs none. */
const parseEnvelopeFields = (body: unknown, microservices: Readonly<Record<string, AnyMicroservice>>) => {
  try {
    return parseBody(envelopeSchema, body);
  } catch (error) {
    const named = body as { type?: unknown; aggregateId?: unknown };
    const isObject = typeof body === "object" && body !== null && !Array.isArray(body);
    if (!(error instanceof ValidationError) || !isObject || named.aggregateId !== undefined) throw error;
    const microservice = typeof named.type === "string" ? microservices[named.type] : undefined;
    if (microservice?.singleAggregate !== undefined) throw error;
    const rule = microservice ? missingAggregateRule(microservice) : "is required";
    throw new ValidationError([...error.issues, { field: "aggregateId", rule }]);
  }
};

const missingAggregateRule = (microservice: AnyMicroservice) =>
  `is required: ${microservice.name} keeps one stream per aggregate, so a command must name its aggregate`;

/**
 * The aggregate a command is for: the one it names or, for a microservice
 * whose whole state is one stream (`singleAggregate`), that one; a command
 * naming another aggregate of it, or naming none for any other
 * microservice, is a 400 that says why.
 */
const aggregateOf = (microservice: AnyMicroservice, named: string | undefined): string => {
  const single = microservice.singleAggregate;
  if (single === undefined) {
    if (named === undefined) throw new ValidationError([{ field: "aggregateId", rule: missingAggregateRule(microservice) }]);
    return named;
  }
  if (named !== undefined && named !== single)
    throw new ValidationError([
      { field: "aggregateId", rule: `must be '${single}' or left out: ${microservice.name} keeps its whole state in the one aggregate '${single}'` },
    ]);
  return single;
};
