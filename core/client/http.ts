// The HTTP transport: the API's own routes. A service signs its requests with
// its IAM credentials (SigV4, POST /service/command); a user sends a bearer
// token (POST /command); on the open local stack the body names the caller.
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { STATUS_CODES } from "node:http";
import { OrdinalClientError, pendingOutcome, type Outcome, type OutgoingEnvelope, type Transport } from "./types.js";

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

type Who =
  /** A service: requests are SigV4-signed for API Gateway (`execute-api`) and go to /service/command. */
  | {
      readonly credentials: Credentials | (() => Promise<Credentials>);
      /** The API's region; read from an `execute-api.<region>.amazonaws.com` URL when absent. */
      readonly region?: string;
      readonly token?: never;
      readonly user?: never;
    }
  /** A user with a bearer token (a JWT), to /command. */
  | { readonly token: string; readonly credentials?: never; readonly user?: never }
  /** The open local stack (`npm start` without --auth): the body names the caller. */
  | { readonly user: string; readonly roles?: readonly string[]; readonly credentials?: never; readonly token?: never };

export type HttpOptions = Who & {
  /** The API's base URL, e.g. `http://localhost:4000` or `https://<id>.execute-api.<region>.amazonaws.com`. */
  readonly url: string;
  /** For tests and proxies; the global fetch when absent. */
  readonly fetch?: typeof fetch;
};

const regionOfUrl = (url: URL) => /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1];

/** The request's path under the base URL, which may carry a stage (`…/prod`). */
const urlFor = (base: string, path: string, waitSeconds: number) => {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}${path}`;
  url.search = waitSeconds > 0 ? `?wait=${waitSeconds}` : "";
  return url;
};

type Prepare = (envelope: OutgoingEnvelope, waitSeconds: number) => Promise<{ url: URL; headers: Record<string, string>; body: string }>;

const signed = (base: string, credentials: Credentials | (() => Promise<Credentials>), region: string | undefined): Prepare => {
  const signingRegion = region ?? regionOfUrl(new URL(base));
  if (!signingRegion) throw new Error(`http({ credentials }) needs a region: none given and none in the URL ${base}`);
  const signer = new SignatureV4({ service: "execute-api", region: signingRegion, credentials, sha256: Sha256 });
  return async (envelope, waitSeconds) => {
    const url = urlFor(base, "/service/command", waitSeconds);
    const body = JSON.stringify(envelope);
    const request = await signer.sign({
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { host: url.host, "content-type": "application/json" },
      body,
    });
    // fetch sets Host itself, to the same value that was signed.
    const { host: _host, ...headers } = request.headers;
    return { url, headers, body };
  };
};

const plain =
  (base: string, extra: { headers?: Record<string, string>; identity?: Record<string, unknown> }): Prepare =>
  async (envelope, waitSeconds) => ({
    url: urlFor(base, "/command", waitSeconds),
    headers: { "content-type": "application/json", ...extra.headers },
    body: JSON.stringify({ ...envelope, ...extra.identity }),
  });

/** The body as JSON; an answer that is not JSON (a proxy's error page) becomes an error body. */
const readAnswer = async (response: Response): Promise<Record<string, unknown>> => {
  const text = await response.text();
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // handled below
  }
  return { error: "InvalidResponse", message: `${response.status} ${response.statusText}: ${text.slice(0, 200)}` };
};

export const http = (options: HttpOptions): Transport => {
  const prepare: Prepare = options.credentials
    ? signed(options.url, options.credentials, options.region)
    : options.token !== undefined
      ? plain(options.url, { headers: { authorization: `Bearer ${options.token}` } })
      : plain(options.url, { identity: { user: options.user, ...(options.roles ? { roles: options.roles } : {}) } });
  const send = options.fetch ?? fetch;
  return {
    async send(envelope, waitSeconds): Promise<Outcome> {
      const { url, headers, body } = await prepare(envelope, waitSeconds);
      const response = await send(url, { method: "POST", headers, body });
      const answer = await readAnswer(response);
      const status = answer.status;
      // 409 is a command the business rules refused: an outcome like any other.
      if (response.ok || (response.status === 409 && status === "rejected")) {
        const { outcomeUrl: _url, ...outcome } = answer;
        if (status === "pending") return pendingOutcome(String(outcome.key), Number(outcome.seq), envelope);
        if (status === "accepted" || status === "rejected" || status === "duplicate") return outcome as unknown as Outcome;
      }
      throw new OrdinalClientError(response.ok ? 502 : response.status, {
        ...answer,
        // API Gateway's own refusals carry only `message`.
        error: typeof answer.error === "string" ? answer.error : response.ok ? "InvalidResponse" : (STATUS_CODES[response.status] ?? "Error").replace(/\W/g, ""),
        message: typeof answer.message === "string" ? answer.message : JSON.stringify(answer).slice(0, 200),
      });
    },
  };
};
