// Users' tokens on the local stack: HS256 JWTs signed with a shared secret,
// checked the way API Gateway's JWT authorizer checks a provider's tokens
// (signature, expiry, audience, issuer when one is configured).
import { errors, jwtVerify, SignJWT, type JWTPayload } from "jose";
import type { JwtConfig } from "../core/auth.js";
import { UnauthorizedError } from "../core/errors.js";
import type { AuthorizerContext } from "../functions/identity.js";

export interface JwtSettings extends JwtConfig {
  /** The HS256 key (ORDINAL_JWT_SECRET). */
  readonly secret: string;
}

const keyOf = (secret: string) => new TextEncoder().encode(secret);

/** A token for `sub` with `roles`, as an identity provider would issue one. */
export const mintToken = (
  settings: JwtSettings,
  { sub, roles = [], expiresIn = "1h" }: { sub: string; roles?: readonly string[]; expiresIn?: string | number },
): Promise<string> => {
  const jwt = new SignJWT({ roles: [...roles] }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setSubject(sub).setAudience(settings.audience).setIssuedAt().setExpirationTime(expiresIn);
  return (settings.issuer ? jwt.setIssuer(settings.issuer) : jwt).sign(keyOf(settings.secret));
};

/** Claims as API Gateway hands them to the function: strings, an array flattened to "[a b]". */
const flatten = (payload: JWTPayload): Record<string, string> =>
  Object.fromEntries(
    Object.entries(payload).map(([name, value]) => [
      name,
      Array.isArray(value) ? `[${value.join(" ")}]` : typeof value === "object" && value !== null ? JSON.stringify(value) : String(value),
    ]),
  );

/** The `jwt` authorizer context for a request's Authorization header; UnauthorizedError when it holds no valid token. */
export const verifyBearer = async (settings: JwtSettings, authorization: string | undefined): Promise<AuthorizerContext> => {
  if (!authorization) throw new UnauthorizedError("no token: send Authorization: Bearer <JWT>");
  const token = /^Bearer +(\S+)$/i.exec(authorization.trim())?.[1];
  if (!token) throw new UnauthorizedError("the Authorization header is not 'Bearer <JWT>'");
  try {
    const { payload } = await jwtVerify(token, keyOf(settings.secret), {
      algorithms: ["HS256"],
      audience: settings.audience,
      ...(settings.issuer ? { issuer: settings.issuer } : {}),
      requiredClaims: ["sub", "exp"],
    });
    return { jwt: { claims: flatten(payload), scopes: null } };
  } catch (error) {
    if (error instanceof errors.JOSEError) throw new UnauthorizedError(`the token is not valid: ${error.message}`);
    throw error;
  }
};
