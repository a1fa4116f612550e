// Whose users' tokens the API takes and for whom they must be: one setting,
// read by the stacks at synth and by the local stack at start.

/** `aud` a user's token must carry unless ORDINAL_JWT_AUDIENCE says otherwise. */
export const DEFAULT_JWT_AUDIENCE = "ordinal";

/**
 * The issuer a stack gets when ORDINAL_JWT_ISSUER is unset: `.invalid` never
 * resolves, so such a deployment refuses every user rather than letting one in.
 */
export const UNSET_JWT_ISSUER = "https://issuer.invalid/";

export interface JwtConfig {
  /** `iss` tokens must carry; the local stack checks it only when it is set. */
  readonly issuer?: string;
  readonly audience: string;
}

export const jwtConfigFromEnv = (env: NodeJS.ProcessEnv = process.env): JwtConfig => ({
  ...(env.ORDINAL_JWT_ISSUER ? { issuer: env.ORDINAL_JWT_ISSUER } : {}),
  audience: env.ORDINAL_JWT_AUDIENCE || DEFAULT_JWT_AUDIENCE,
});
