// The local stack's stand-ins for API Gateway's authorizers: the JWT check of
// users' bearer tokens, and the SigV4 check of services' signed requests,
// against requests signed the way an AWS SDK signs them.
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { UnauthorizedError } from "../core/errors.js";
import { callerOf } from "../functions/identity.js";
import { mintToken, verifyBearer, type JwtSettings } from "../local/jwt.js";
import { localPrincipal, MAX_SKEW_MS, verifySigV4, type SignedRequest } from "../local/sigv4.js";

const settings: JwtSettings = { secret: "unit-secret", audience: "ordinal" };
const key = (secret: string) => new TextEncoder().encode(secret);

describe("verifyBearer", () => {
  it("hands on the claims as API Gateway does: strings, arrays flattened", async () => {
    // Prepare
    const token = await mintToken(settings, { sub: "alice", roles: ["admin", "service"] });

    // Act
    const context = await verifyBearer(settings, `Bearer ${token}`);

    // Assess
    expect(context.jwt!.claims).toMatchObject({ sub: "alice", roles: "[admin service]", aud: "ordinal", exp: expect.stringMatching(/^\d+$/) });
    expect(callerOf({ requestContext: { authorizer: context } } as never, { identityFromBody: false })).toEqual({ user: "alice", roles: ["admin", "service"] });
  });

  it("checks the issuer when one is configured", async () => {
    const withIssuer = { ...settings, issuer: "https://idp.local/" };
    await expect(verifyBearer(withIssuer, `Bearer ${await mintToken(withIssuer, { sub: "a" })}`)).resolves.toBeDefined();
    await expect(verifyBearer(withIssuer, `Bearer ${await mintToken(settings, { sub: "a" })}`)).rejects.toThrow(/"iss"/);
  });

  const refusals: [string, () => Promise<string | undefined>, RegExp][] = [
    ["no header", async () => undefined, /no token/],
    ["another scheme", async () => `Basic ${Buffer.from("a:b").toString("base64")}`, /not 'Bearer <JWT>'/],
    ["a malformed token", async () => "Bearer not.a.jwt", /not valid/],
    ["a wrong signature", async () => `Bearer ${await mintToken({ ...settings, secret: "another" }, { sub: "a" })}`, /signature verification failed/],
    ["an expired token", async () => `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("a").setAudience("ordinal").setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(key(settings.secret))}`, /"exp"/],
    ["another audience", async () => `Bearer ${await mintToken({ ...settings, audience: "elsewhere" }, { sub: "a" })}`, /"aud"/],
    ["no sub", async () => `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setAudience("ordinal").setExpirationTime("1h").sign(key(settings.secret))}`, /"sub"/],
    ["no exp", async () => `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("a").setAudience("ordinal").sign(key(settings.secret))}`, /"exp"/],
    ["alg none", async () => `Bearer ${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from('{"sub":"a","aud":"ordinal","exp":9999999999}').toString("base64url")}.`, /not valid/],
  ];

  it.each(refusals)("refuses %s (401)", async (_, header, message) => {
    const refused = verifyBearer(settings, await header());
    await expect(refused).rejects.toThrow(UnauthorizedError);
    await expect(verifyBearer(settings, await header())).rejects.toThrow(message);
  });
});

describe("verifySigV4", () => {
  const now = Date.UTC(2026, 10, 23, 14, 0, 0);
  const url = new URL("http://localhost:4000/service/command?wait=5");
  const body = JSON.stringify({ type: "inventory", command: "Restock", aggregateId: "w-1", id: "r-1", payload: { sku: "S", quantity: 1 } });

  /** A request as a service's SDK signs it; `tamper` changes what is sent after signing. */
  const signed = async (
    { secret = localPrincipal.secretAccessKey, service = "execute-api", at = now, sessionToken }: { secret?: string; service?: string; at?: number; sessionToken?: string } = {},
  ): Promise<SignedRequest> => {
    const signer = new SignatureV4({
      service,
      region: "us-east-1",
      sha256: Sha256,
      credentials: { accessKeyId: localPrincipal.accessKeyId, secretAccessKey: secret, ...(sessionToken ? { sessionToken } : {}) },
    });
    const request = await signer.sign(
      {
        method: "POST",
        protocol: "http:",
        hostname: url.hostname,
        port: 4000,
        path: url.pathname,
        query: { wait: "5" },
        headers: { host: url.host, "content-type": "application/json" },
        body,
      },
      { signingDate: new Date(at) },
    );
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]));
    return { method: "POST", url, headers, body: Buffer.from(body) };
  };

  it("accepts a request an AWS SDK signed with known credentials, and names its principal", async () => {
    // Act
    const context = await verifySigV4(await signed(), [localPrincipal], now);

    // Assess
    expect(context).toEqual({
      iam: { accessKey: "local", accountId: "000000000000", callerId: "local", userArn: "arn:aws:iam::000000000000:user/local", userId: "local" },
    });
  });

  it("accepts temporary credentials' session token and a signature a few minutes old", async () => {
    await expect(verifySigV4(await signed({ sessionToken: "token-1" }), [localPrincipal], now + MAX_SKEW_MS - 1000)).resolves.toBeDefined();
  });

  const refusals: [string, () => Promise<SignedRequest>, RegExp][] = [
    ["an unsigned request", async () => ({ method: "POST", url, headers: { host: url.host }, body: Buffer.from(body) }), /needs a request signed/],
    ["a bearer token", async () => ({ method: "POST", url, headers: { host: url.host, authorization: "Bearer x.y.z" }, body: Buffer.from(body) }), /not an AWS4-HMAC-SHA256/],
    ["the wrong secret", () => signed({ secret: "not-local" }), /does not match/],
    ["another service's signature", () => signed({ service: "dynamodb" }), /'dynamodb', not 'execute-api'/],
    ["a signature older than 15 minutes", () => signed({ at: now - MAX_SKEW_MS - 1000 }), /expired/],
    ["a signature from the future", () => signed({ at: now + MAX_SKEW_MS + 1000 }), /future/],
    ["another body", async () => ({ ...(await signed()), body: Buffer.from(body.replace('"quantity":1', '"quantity":1000')) }), /x-amz-content-sha256/],
    ["another path", async () => ({ ...(await signed()), url: new URL("http://localhost:4000/command?wait=5") }), /does not match/],
    ["another query", async () => ({ ...(await signed()), url: new URL("http://localhost:4000/service/command?wait=9") }), /does not match/],
    ["another method", async () => ({ ...(await signed()), method: "PUT" }), /does not match/],
    [
      "an unknown access key",
      async () => {
        const request = await signed();
        return { ...request, headers: { ...request.headers, authorization: request.headers.authorization!.replace("Credential=local/", "Credential=AKIAOTHER/") } };
      },
      /not known/,
    ],
    [
      "a signed header left out",
      async () => {
        const request = await signed();
        return { ...request, headers: { ...request.headers, "content-type": undefined } };
      },
      /'content-type' is missing/,
    ],
  ];

  it.each(refusals)("refuses %s (401)", async (_, request, message) => {
    const refused = verifySigV4(await request(), [localPrincipal], now);
    await expect(refused).rejects.toThrow(UnauthorizedError);
    await expect(verifySigV4(await request(), [localPrincipal], now)).rejects.toThrow(message);
  });

  it("refuses a body changed after signing even when the signer sent no content hash", async () => {
    // Prepare: a signer that does not add x-amz-content-sha256, so only the signature covers the body
    const signer = new SignatureV4({ service: "execute-api", region: "eu-west-1", sha256: Sha256, applyChecksum: false, credentials: localPrincipal });
    const request = await signer.sign(
      { method: "POST", protocol: "http:", hostname: url.hostname, port: 4000, path: url.pathname, query: { wait: "5" }, headers: { host: url.host }, body },
      { signingDate: new Date(now) },
    );
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]));

    // Act, Assess
    await expect(verifySigV4({ method: "POST", url, headers, body: Buffer.from(body) }, [localPrincipal], now)).resolves.toBeDefined();
    await expect(verifySigV4({ method: "POST", url, headers, body: Buffer.from(`${body} `) }, [localPrincipal], now)).rejects.toThrow(/does not match/);
  });
});
