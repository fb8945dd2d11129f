/** The `/v1` API from the browser: the user's token (if any) as a bearer, errors as {@link ApiError}. */

const TOKEN_KEY = "sluice.token";

/** An error answer of the API: `{statusCode, code, error, message}`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  window.dispatchEvent(new Event("sluice:token"));
}

export function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Fires `sluice:unauthorized` on 401, so the shell asks for a token. */
async function failure(res: Response): Promise<ApiError> {
  let code = "HTTP_ERROR";
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { code?: string; message?: string };
    code = body.code ?? code;
    message = body.message ?? message;
  } catch {
    // Not JSON: keep the status line.
  }
  if (res.status === 401) window.dispatchEvent(new Event("sluice:unauthorized"));
  return new ApiError(res.status, code, message);
}

/** A JSON call to the API; `body` (an object) is sent as JSON, FormData as multipart. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json", ...authHeaders() };
  let body: BodyInit | undefined;
  if (init.body instanceof FormData) body = init.body;
  else if (init.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(init.body);
  }
  const res = await fetch(path, { method: init.method ?? (body ? "POST" : "GET"), headers, body });
  if (!res.ok) throw await failure(res);
  // 204 (a dead letter dropped) has no body.
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/** A message for any thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
