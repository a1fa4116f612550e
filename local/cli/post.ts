// The CLIs' HTTP calls to the running stack: JSON in, JSON out.
import { setTimeout as sleep } from "node:timers/promises";

export const defaultUrl = (env: NodeJS.ProcessEnv = process.env): string => `http://localhost:${env.PORT ?? 4000}`;

export class RequestFailed extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}

/**
 * Answers the body of a 2xx; throws RequestFailed, retryable for network errors and 5xx.
 * `token` (default $ORDINAL_TOKEN) goes as a bearer token, for a stack started with --auth.
 */
export const postJson = <T>(url: string, body: unknown, token: string | undefined = process.env.ORDINAL_TOKEN): Promise<T> => requestJson<T>("POST", url, body, token);

/** As postJson, for any method; `body` undefined sends none. */
export const requestJson = async <T>(method: string, url: string, body?: unknown, token: string | undefined = process.env.ORDINAL_TOKEN): Promise<T> => {
  let response: Response;
  try {
    const headers = { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) };
    response = await fetch(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (error) {
    throw new RequestFailed(`cannot reach ${url}: ${(error as Error).message} (is the stack running? npm start)`, true);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const message = (parsed as { message?: string } | undefined)?.message ?? text;
    throw new RequestFailed(`${url} answered ${response.status}: ${message}`, response.status >= 500);
  }
  return parsed as T;
};

/** Runs `attempt` up to `times` times while it fails retryably, waiting a little longer each time. */
export const withRetries = async <T>(times: number, attempt: (n: number) => Promise<T>): Promise<T> => {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!(error instanceof RequestFailed) || !error.retryable || n >= times) throw error;
      await sleep(500 * n);
    }
  }
};
