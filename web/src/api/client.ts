// The typed API client: every path, parameter and answer comes from schema.d.ts, which is
// generated from docs/openapi.json (a test fails if it is stale). The access token lives
// in this module's memory only; the refresh token is an HttpOnly cookie the page never sees.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type Problem = Schemas['Problem'];
export type FieldError = Schemas['FieldError'];

let accessToken: string | null = null;

export function setAccessToken(token: string | null) {
  accessToken = token;
}

export function hasAccessToken() {
  return accessToken !== null;
}

const auth: Middleware = {
  onRequest({ request }) {
    if (accessToken) request.headers.set('Authorization', `Bearer ${accessToken}`);
    return request;
  },
};

// Typed answers are the JSON ones: a route that also answers CSV or XLSX by Accept is
// read as a file through `fetchFile`, never through this client.
export const api = createClient<paths, 'application/json'>({ baseUrl: '' });
api.use(auth);

/** A plain fetch with the access token, for answers that are files rather than JSON. */
export function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (accessToken) headers.set('Authorization', `Bearer ${accessToken}`);
  return fetch(path, { ...init, headers });
}

/** An API answer that was not 2xx, with its problem+json body. */
export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly problem: Problem,
  ) {
    super(problem.title || `HTTP ${status}`);
  }

  /** Field errors by field name (JSON path) for showing next to inputs. */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.problem.errors ?? []) {
      const key = e.field ?? (e.row != null ? `row ${e.row}` : '');
      if (key && !out[key]) out[key] = e.message;
    }
    return out;
  }
}

/** The answer's data, or an ApiError carrying its problem. */
export async function ok<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  throw new ApiError(response.status, toProblem(response.status, error));
}

export function toProblem(status: number, body: unknown): Problem {
  if (body && typeof body === 'object' && 'title' in body) return body as Problem;
  return {
    type: 'about:blank',
    title: status >= 500 ? 'The server could not answer' : `Request failed (${status})`,
    status,
    detail: typeof body === 'string' ? body : '',
    code: 'unknown',
  };
}

/** The CSRF token the refresh cookie pairs with, readable by the page by design. */
export function csrfToken(cookie: string = document.cookie): string | null {
  for (const part of cookie.split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === 'tracseq_csrf' && v) return v;
  }
  return null;
}
