// The console's one backend: the Ordinal API at this page's origin, with the
// user's token (kept in this browser) as a bearer token when there is one.
const TOKEN = "ordinal.token";

export const token = {
  get: (): string => localStorage.getItem(TOKEN) ?? "",
  set: (value: string) => (value ? localStorage.setItem(TOKEN, value) : localStorage.removeItem(TOKEN)),
};

export interface Answer<T = any> {
  readonly status: number;
  readonly body: T;
}

export const call = async <T = any>(method: string, path: string, body?: unknown): Promise<Answer<T>> => {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token.get()) headers.authorization = `Bearer ${token.get()}`;
  const response = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = { message: text };
  }
  return { status: response.status, body: parsed as T };
};

export const get = <T = any>(path: string) => call<T>("GET", path);
export const post = <T = any>(path: string, body: unknown) => call<T>("POST", path, body);
export const del = <T = any>(path: string) => call<T>("DELETE", path);

/** Who the API takes this browser for (GET /me). */
export interface Me {
  readonly open: boolean;
  readonly user: string | null;
  readonly roles: readonly string[];
}

/** The message of a refusal, for a line under a form. */
export const problemOf = (answer: Answer): string => {
  const body = answer.body ?? {};
  const issues = Array.isArray(body.issues) ? body.issues.map((i: { field: string; rule: string }) => `${i.field}: ${i.rule}`).join("; ") : "";
  return `${answer.status} ${body.error ?? body.status ?? ""}${body.message ? `: ${body.message}` : ""}${issues && !String(body.message ?? "").includes(issues) ? ` (${issues})` : ""}`;
};
