// API Gateway's IAM authorizer, played locally: a request must carry a
// Signature Version 4 for `execute-api` from known credentials. The signature
// is checked by signing the request again, with the headers and time the
// caller signed, and comparing.
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { createHash, timingSafeEqual } from "node:crypto";
import { UnauthorizedError } from "../core/errors.js";
import type { AuthorizerContext } from "../functions/identity.js";

/** An IAM principal the local stack knows, with the secret its requests are signed with. */
export interface IamPrincipal {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly accountId: string;
  readonly userArn: string;
  readonly userId: string;
}

/** The credentials of localAwsConfig (local/dynamodb.ts), as a service calling the local stack uses them. */
export const localPrincipal: IamPrincipal = {
  accessKeyId: "local",
  secretAccessKey: "local",
  accountId: "000000000000",
  userArn: "arn:aws:iam::000000000000:user/local",
  userId: "local",
};

export interface SignedRequest {
  readonly method: string;
  readonly url: URL;
  /** Lower-case names, as node gives them. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Uint8Array;
}

/** How far a signature's time may be from the clock, as AWS allows. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

const AUTHORIZATION = /^AWS4-HMAC-SHA256 +Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, *SignedHeaders=([a-z0-9;_.-]+), *Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function refuse(why: string): never {
  throw new UnauthorizedError(why);
}

const queryOf = (url: URL): Record<string, string | string[]> => {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const seen = query[name];
    query[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return query;
};

/**
 * The `iam` authorizer context of a signed request, or UnauthorizedError:
 * unsigned, unknown key, another service, a date too far from `now`, a body
 * that is not the one signed, or a signature that does not match.
 */
export const verifySigV4 = async (
  request: SignedRequest,
  principals: readonly IamPrincipal[],
  now: number = Date.now(),
): Promise<AuthorizerContext> => {
  const authorization = request.headers.authorization;
  if (!authorization) refuse("this route needs a request signed with AWS Signature Version 4 (service execute-api)");
  const parsed = AUTHORIZATION.exec(authorization.trim()) ?? refuse("the Authorization header is not an AWS4-HMAC-SHA256 signature");
  const [, accessKeyId, day, region, service, signedList, signature] = parsed as RegExpExecArray & string[];
  if (service !== "execute-api") refuse(`the request is signed for '${service}', not 'execute-api'`);
  const principal = principals.find((p) => p.accessKeyId === accessKeyId) ?? refuse(`the access key '${accessKeyId}' is not known`);

  const signedHeaders = signedList!.split(";");
  if (!signedHeaders.includes("host") || !signedHeaders.includes("x-amz-date")) refuse("the signature must cover the host and x-amz-date headers");
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) headers[name] = request.headers[name] ?? refuse(`the signed header '${name}' is missing`);

  const date = AMZ_DATE.exec(headers["x-amz-date"]!) ?? refuse("x-amz-date is not a time like 20261123T140000Z");
  const [, y, mo, d, h, mi, s] = date.map(Number) as number[];
  const signedAt = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  if (headers["x-amz-date"]!.slice(0, 8) !== day) refuse("the credential's date is not the day of x-amz-date");
  if (Math.abs(now - signedAt) > MAX_SKEW_MS) refuse("the signature expired, or is dated in the future: sign again");

  // The signer trusts a given content hash, so the body must be the one it names.
  const contentHash = headers["x-amz-content-sha256"];
  if (contentHash !== undefined && contentHash !== createHash("sha256").update(request.body).digest("hex"))
    refuse("the body is not the one x-amz-content-sha256 names");

  const signer = new SignatureV4({
    service: "execute-api",
    region: region!,
    sha256: Sha256,
    applyChecksum: false,
    credentials: {
      accessKeyId: principal.accessKeyId,
      secretAccessKey: principal.secretAccessKey,
      ...(headers["x-amz-security-token"] ? { sessionToken: headers["x-amz-security-token"] } : {}),
    },
  });
  const signed = await signer.sign(
    {
      method: request.method.toUpperCase(),
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      path: request.url.pathname,
      query: queryOf(request.url),
      headers,
      body: request.body,
    },
    { signingDate: new Date(signedAt), signableHeaders: new Set(signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization))?.[1] ?? "";
  if (expected.length !== signature!.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature!)))
    refuse("the signature does not match the request: check the credentials, and sign the method, path, query and body sent");

  return {
    iam: {
      accessKey: principal.accessKeyId,
      accountId: principal.accountId,
      callerId: principal.userId,
      userArn: principal.userArn,
      userId: principal.userId,
    },
  };
};
