// The few building blocks every screen shares: loading data, showing a problem, a labelled
// field with its error, an empty state, a progress bar, a status badge.
import { useCallback, useEffect, useId, useLayoutEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, authorizedFetch, toProblem, type Problem } from '../api/client';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload(): void;
}

/** Loads on mount and whenever `deps` change; `reload` loads again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const lastTick = useRef(tick);
  useEffect(() => {
    let live = true;
    // New inputs (another sample, another box) must not show the previous one's data
    // meanwhile; a reload of the same thing keeps it on screen.
    if (lastTick.current === tick) setData(undefined);
    lastTick.current = tick;
    setLoading(true);
    load()
      .then((d) => live && (setData(d), setError(null)))
      .catch((e: unknown) => live && setError(asApiError(e)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

/**
 * Loads again `ms` after each load ends, for as long as `active` holds: a screen following
 * something that changes by itself (a document being read, a saga, an import). Each load
 * that ends, whether it changed anything or failed, schedules the next, so a slow step or
 * one failed request does not stop the following.
 */
export function useFollow(loaded: Pick<Loaded<unknown>, 'loading' | 'reload'>, active: boolean, ms: number) {
  const { loading, reload } = loaded;
  useEffect(() => {
    if (!active || loading) return;
    const t = setTimeout(reload, ms);
    return () => clearTimeout(t);
  }, [active, loading, reload, ms]);
}

export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  // fetch rejects with a TypeError when the request never got an answer.
  const network = e instanceof TypeError;
  const problem: Problem = {
    type: 'about:blank',
    title: network ? 'The request did not reach the server' : e instanceof Error ? e.message : String(e),
    status: 0,
    detail: network ? e.message : '',
    code: network ? 'network' : 'client',
  };
  return new ApiError(0, problem);
}

/** A form's submit state: busy, its problem and field errors. */
export function useSubmit<A extends unknown[]>(action: (...args: A) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = async (...args: A) => {
    setBusy(true);
    setError(null);
    try {
      await action(...args);
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, fields: error?.fieldErrors() ?? {}, run, setError };
}

export function ProblemBanner({ error }: { error: ApiError | null }) {
  if (!error) return null;
  const p = error.problem;
  return (
    <div className="problem" role="alert">
      <strong>{p.title}</strong>
      {p.detail && <span> — {p.detail}</span>}
      {(p.errors?.length ?? 0) > 0 && (
        <ul>
          {p.errors!.slice(0, 20).map((e, i) => (
            <li key={i}>
              {e.row != null && `Row ${e.row}: `}
              {e.field ?? e.column ?? ''} {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

interface FieldProps {
  label: string;
  name: string;
  error?: string;
  children?: (id: string, describedBy: string | undefined) => ReactNode;
  type?: string;
  value?: string;
  onChange?: (v: string) => void;
  required?: boolean;
  autoComplete?: string;
  placeholder?: string;
  autoFocus?: boolean;
}

/** A labelled input whose API field error shows beside it. */
export function Field(props: FieldProps) {
  const id = useId();
  const errId = `${id}-error`;
  const describedBy = props.error ? errId : undefined;
  return (
    <div className={props.error ? 'field invalid' : 'field'}>
      <label htmlFor={id}>{props.label}</label>
      {props.children ? (
        props.children(id, describedBy)
      ) : (
        <input
          id={id}
          name={props.name}
          type={props.type ?? 'text'}
          value={props.value ?? ''}
          required={props.required}
          autoComplete={props.autoComplete}
          placeholder={props.placeholder}
          autoFocus={props.autoFocus}
          aria-invalid={props.error ? true : undefined}
          aria-describedby={describedBy}
          onChange={(e) => props.onChange?.(e.target.value)}
        />
      )}
      {props.error && (
        <span className="field-error" id={errId}>
          {props.error}
        </span>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function ProgressBar({ value, max, label }: { value: number; max: number; label: string }) {
  const pct = max > 0 ? Math.min(100, Math.round((value / max) * 100)) : 0;
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={value}>
      <div className="progress-fill" style={{ width: `${pct}%` }} />
      <span className="progress-text">
        {label}: {value} / {max}
      </span>
    </div>
  );
}

export function Badge({ value }: { value: string }) {
  return <span className={`badge badge-${value.replace(/[^a-z_]/gi, '')}`}>{value.replace(/_/g, ' ')}</span>;
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" aria-live="polite">
      Loading {what}…
    </p>
  );
}

// One formatter for every timestamp: `toLocaleString` builds a new one per call, which
// dominated the render of a 1,000-row list.
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

/**
 * Measures how long a large view takes to show new data: from the first render with
 * `key` to the first commit where `ready` holds (a windowed list may need a second pass
 * to know its rows), laid out (reading offsetHeight forces the layout). The result is a
 * Performance API measure named `name` that the browser tests read.
 */
export function useRenderTiming(name: string, key: unknown, ready = true) {
  const started = useRef<{ key: unknown; done: boolean } | null>(null);
  const start = `${name}:start`;
  if (started.current?.key !== key) {
    started.current = { key, done: false };
    performance.mark(start);
  }
  useLayoutEffect(() => {
    const s = started.current;
    if (!s || s.done || !ready) return;
    s.done = true;
    void document.body.offsetHeight;
    performance.measure(name, start);
  });
}

/** A form's submit handler: no page reload, the API call run through `useSubmit`. */
export function submitWith(run: () => Promise<void>) {
  return (e: FormEvent) => {
    e.preventDefault();
    void run();
  };
}

/** Hand the browser a file to save (a sample sheet, labels, a report). */
export function saveFile(data: Blob, name: string) {
  const url = URL.createObjectURL(data);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A file the API answers (any media type), or its problem as an ApiError. */
export async function fetchFile(path: string, init: RequestInit = {}): Promise<Blob> {
  const response = await authorizedFetch(path, init);
  if (!response.ok) {
    const body: unknown = await response.json().catch(() => null);
    throw new ApiError(response.status, toProblem(response.status, body));
  }
  return response.blob();
}
