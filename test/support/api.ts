// A small client for Ordinal's HTTP API, as a test (or curl) sees it: status,
// content type and parsed JSON body of every answer.
import { expect } from "vitest";

// Answers are checked field by field in the tests, so a loose JSON type reads best.
export type Json = any;

export interface Answer {
  readonly status: number;
  readonly contentType: string | null;
  readonly headers: Headers;
  readonly body: Json;
}

export interface CommandBody {
  readonly type: string;
  readonly command: string;
  readonly aggregateId: string;
  readonly id: string | number;
  readonly user: string;
  readonly timestamp?: number;
  readonly payload?: Record<string, unknown>;
}

/** A cart command from user u-1, as in the README's curl session. */
export const cartCommand = (
  command: string,
  aggregateId: string,
  id: string | number,
  payload?: Record<string, unknown>,
  extra: Partial<CommandBody> = {},
): CommandBody => ({ type: "cart", command, aggregateId, id, user: "u-1", ...(payload ? { payload } : {}), ...extra });

/** A body as sent: strings go out verbatim (malformed JSON), anything else as JSON. */
const encode = (body: unknown) => (body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body));

export const request = async (base: string, method: string, path: string, body?: unknown): Promise<Answer> => {
  const response = await fetch(new URL(path, base), {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: encode(body),
  });
  const text = await response.text();
  const contentType = response.headers.get("content-type");
  // Every answer of the API is JSON, errors included: any other fails the test here.
  expect(contentType, `${method} ${path} → ${response.status} ${text.slice(0, 200)}`).toMatch(/^application\/json\b/);
  let parsed: Json;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: response.status, contentType, headers: response.headers, body: parsed };
};

export interface Api {
  get(path: string): Promise<Answer>;
  post(path: string, body?: unknown): Promise<Answer>;
  /** POST /command, with `?wait=` when given. */
  send(body: unknown, wait?: number): Promise<Answer>;
  /** Polls an outcome URL until the sequencer has written the outcome. */
  settle(outcomeUrl: string, timeoutMs?: number): Promise<Json>;
  /** Every event of a stream, following `next` links page by page. */
  allEvents(streamId: string, limit?: number): Promise<Json[]>;
}

/** An Api at `base`; given a function, it asks for the base URL at each request (a stack started in a beforeAll). */
export const apiAt = (base: string | (() => string)): Api => {
  const baseUrl = typeof base === "string" ? () => base : base;
  const get = (path: string) => request(baseUrl(), "GET", path);
  const post = (path: string, body?: unknown) => request(baseUrl(), "POST", path, body);
  return {
    get,
    post,
    send: (body, wait) => post(wait === undefined ? "/command" : `/command?wait=${wait}`, body),
    async settle(outcomeUrl, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const answer = await get(outcomeUrl);
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        if (answer.body.status !== "pending") return answer.body;
        if (Date.now() > deadline) throw new Error(`${outcomeUrl} still pending after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async allEvents(streamId, limit = 1000) {
      const events: Json[] = [];
      let next: string | undefined = `/streams/${encodeURIComponent(streamId)}/events?limit=${limit}`;
      while (next) {
        const page = await get(next);
        expect(page.status, JSON.stringify(page.body)).toBe(200);
        events.push(...page.body.events);
        next = page.body.next;
      }
      return events;
    },
  };
};

/** Every answer is JSON: `request` already fails the test otherwise; this says so where a test wants it spelled out. */
export const expectJson = (answer: Answer) => expect(answer.contentType).toMatch(/^application\/json\b/);
