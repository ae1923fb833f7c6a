// Submissions (saga steps as a timeline) and document intake (the extracted fields with
// their confidence and the quoted passage each was read from; submit or reject).
import { useState } from 'react';
import { Link, useLocation } from 'wouter';
import { api, ok, type Schemas } from '../api/client';
import { atLeast } from '../roles';
import { useSession } from '../session';
import { Badge, Empty, Field, Loading, ProblemBanner, ProgressBar, useFollow, useLoad, useSubmit, when, submitWith } from '../components/ui';
import { pieces, type Cite } from '../components/cited';

const RUNNING: Schemas['SagaStatus'][] = ['running'];

export function Submissions() {
  const list = useLoad(() => ok(api.GET('/api/submissions', { params: { query: { limit: 100 } } })), []);
  return (
    <>
      <h1>Submissions</h1>
      <ProblemBanner error={list.error} />
      {list.loading && <Loading what="submissions" />}
      {list.data?.items.length === 0 && <Empty>No submissions yet. A submission comes from a finished import or a reviewed document.</Empty>}
      {list.data && list.data.items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Submission</th>
              <th scope="col">Samples</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((s) => (
              <tr key={s.id}>
                <td>
                  <Link href={`/submissions/${s.id}`}>{s.id}</Link>
                </td>
                <td className="num">{s.sample_count}</td>
                <td>
                  <Badge value={s.status} />
                </td>
                <td>{when(s.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

export function StepTimeline({ steps }: { steps: Schemas['StepRecord'][] }) {
  if (steps.length === 0) return <Empty>No step has run yet.</Empty>;
  return (
    <ol className="timeline" aria-label="Steps">
      {steps.map((s, i) => (
        <li key={i} className={`step-${s.outcome}`}>
          <strong>{s.name}</strong> <Badge value={s.outcome} /> {s.error_code && <code>{s.error_code}</code>} <span className="muted">{when(s.ended_at ?? s.started_at)}</span>
        </li>
      ))}
    </ol>
  );
}

export function SubmissionDetail({ id }: { id: string }) {
  const sub = useLoad(() => ok(api.GET('/api/submissions/{id}', { params: { path: { id } } })), [id]);
  const s = sub.data;
  // Follow a running saga.
  const running = s && RUNNING.includes(s.status);
  useFollow(sub, Boolean(running), 1000);
  if (sub.error && !s) return <ProblemBanner error={sub.error} />;
  if (!s) return <Loading what="the submission" />;
  return (
    <>
      <p className="crumbs">
        <Link href="/submissions">Submissions</Link> / {s.id}
      </p>
      <h1>
        Submission <Badge value={s.status} />
      </h1>
      <ProblemBanner error={sub.error} />
      <p>
        {s.sample_count} samples · started {when(s.created_at)} {s.ended_at && `· ended ${when(s.ended_at)}`}
      </p>
      {s.error && (
        <p className="problem" role="alert">
          {s.error.step && `${s.error.step}: `}
          {s.error.detail} (<code>{s.error.code}</code>)
        </p>
      )}
      <section className="card" aria-label="Saga steps">
        <h2>Steps</h2>
        <StepTimeline steps={s.steps ?? []} />
      </section>
    </>
  );
}

/** Statuses a document leaves by itself: its screen follows it until it settles. */
const READING: Schemas['DocumentStatus'][] = ['awaiting_upload', 'uploaded', 'extracting'];

/**
 * Registers the file, then PUTs it straight to S3 through the presigned link with the
 * headers it was signed with (the browser adds the signed Content-Length itself).
 */
function UploadDocument() {
  const [, navigate] = useLocation();
  const [file, setFile] = useState<File | null>(null);
  const upload = useSubmit(async () => {
    if (!file) throw new Error('Choose a file first');
    const created = await ok(api.POST('/api/intake/documents', { body: { filename: file.name, size: file.size, content_type: file.type || null } }));
    const headers = Object.fromEntries(Object.entries(created.upload.headers).filter(([k]) => k.toLowerCase() !== 'content-length'));
    const put = await fetch(created.upload.url, { method: created.upload.method, headers, body: file });
    if (!put.ok) throw new Error(`The upload was refused (${put.status}); try again`);
    navigate(`/documents/${created.document.id}`);
  });
  return (
    <form
      className="card inline-form"
      aria-label="Upload a document"
      onSubmit={submitWith(upload.run)}
      noValidate
    >
      <h2>Upload a submission form</h2>
      <ProblemBanner error={upload.error} />
      <Field label="Document (PDF, DOCX, EML or TXT, up to 50 MB)" name="document" error={upload.fields.size ?? upload.fields.filename}>
        {(id) => <input id={id} type="file" accept=".pdf,.docx,.eml,.txt,application/pdf,text/plain,message/rfc822" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />}
      </Field>
      <button type="submit" disabled={upload.busy || !file}>
        {upload.busy ? 'Uploading…' : 'Upload'}
      </button>
    </form>
  );
}

export function Documents() {
  const { user } = useSession();
  const tech = user?.platform_operator || atLeast(user?.role, 'lab_technician');
  const list = useLoad(() => ok(api.GET('/api/intake/documents', { params: { query: { limit: 100 } } })), []);
  return (
    <>
      <h1>Documents</h1>
      <p className="muted">Submission forms (PDF, DOCX, EML, TXT) read into samples for review.</p>
      {tech && <UploadDocument />}
      <ProblemBanner error={list.error} />
      {list.loading && <Loading what="documents" />}
      {list.data?.items.length === 0 && <Empty>No documents yet. Upload a submission form to have its samples read for review.</Empty>}
      {list.data && list.data.items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Status</th>
              <th scope="col">Confidence</th>
              <th scope="col">Received</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((d) => (
              <tr key={d.id}>
                <td>
                  <Link href={`/documents/${d.id}`}>{d.filename}</Link>
                </td>
                <td>
                  <Badge value={d.status} />
                </td>
                <td className="num">{d.assessment ? `${Math.round(d.assessment.confidence * 100)}%` : '—'}</td>
                <td>{when(d.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function show(v: Schemas['FieldValue']): string {
  return Array.isArray(v) ? v.join(', ') : v;
}

export function DocumentDetail({ id }: { id: string }) {
  const { user } = useSession();
  const tech = user?.platform_operator || atLeast(user?.role, 'lab_technician');
  const doc = useLoad(() => ok(api.GET('/api/intake/documents/{id}', { params: { path: { id } } })), [id]);
  const reading = doc.data && READING.includes(doc.data.status);
  useFollow(doc, Boolean(reading), 800);
  const read = Boolean(doc.data?.extraction_key);
  const text = useLoad(async () => (read ? ok(api.GET('/api/intake/documents/{id}/text', { params: { path: { id } } })) : null), [id, read]);
  const [reason, setReason] = useState('');
  const submit = useSubmit(async () => {
    await ok(api.POST('/api/intake/documents/{id}/submit', { params: { path: { id } }, body: {} }));
    doc.reload();
  });
  const reject = useSubmit(async () => {
    await ok(api.POST('/api/intake/documents/{id}/reject', { params: { path: { id } }, body: { reason } }));
    doc.reload();
  });
  if (doc.error && !doc.data) return <ProblemBanner error={doc.error} />;
  if (!doc.data) return <Loading what="the document" />;
  const d = doc.data;
  const fields = Object.entries(d.extraction?.fields ?? {});
  const rows = d.extraction?.samples ?? [];
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return (
    <>
      <p className="crumbs">
        <Link href="/documents">Documents</Link> / {d.filename}
      </p>
      <h1>
        {d.filename} <Badge value={d.status} />
      </h1>
      <ProblemBanner error={doc.error} />
      {reading && <ProgressBar value={d.progress?.percent ?? 0} max={100} label={d.progress?.stage ?? d.status.replace(/_/g, ' ')} />}
      {d.assessment && (
        <p>
          Confidence {Math.round(d.assessment.confidence * 100)}% (ready at {Math.round(d.threshold * 100)}%)
          {d.assessment.missing_critical.length > 0 && <> · missing: {d.assessment.missing_critical.join(', ')}</>}
          {d.provider && <> · read by {d.provider}</>}
          {d.fallback && <> (fallback: {d.fallback})</>}
        </p>
      )}
      {d.submission_id && (
        <p>
          Submitted as <Link href={`/submissions/${d.submission_id}`}>submission {d.submission_id}</Link>.
        </p>
      )}
      <div className="grid two">
        <section className="card doc-pane" aria-labelledby="h-text" tabIndex={0}>
          <h2 id="h-text">The document as read</h2>
          <ProblemBanner error={text.error} />
          {!read && <Empty>Not read yet.</Empty>}
          {text.data?.pages.map((page, i) => (
            <DocumentPage key={i} number={i + 1} text={page} cites={citesOn(d.extraction, i + 1)} />
          ))}
        </section>
        <section className="card" aria-labelledby="h-fields">
          <h2 id="h-fields">Extracted fields</h2>
          {fields.length === 0 && <Empty>Nothing extracted yet.</Empty>}
          <table className="list">
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Value</th>
                <th scope="col">Confidence</th>
                <th scope="col">Read from</th>
              </tr>
            </thead>
            <tbody>
              {fields.map(([name, f]) => (
                <tr key={name}>
                  <th scope="row">{name.replace(/_/g, ' ')}</th>
                  <td>{show(f.value)}</td>
                  <td className={f.confidence < d.threshold ? 'num low' : 'num'}>{Math.round(f.confidence * 100)}%</td>
                  <td>
                    {f.citation ? (
                      <a href={`#cite-${name}`} title={`page ${f.citation.page}, character ${f.citation.offset}`}>
                        <q>{f.citation.quote}</q>
                      </a>
                    ) : (
                      <em>typed by a person</em>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
      <section className="card" aria-labelledby="h-rows">
          <h2 id="h-rows">Samples ({rows.length})</h2>
          {rows.length === 0 && <Empty>No sample rows found.</Empty>}
          {rows.length > 0 && (
            <div className="scroll-x" tabIndex={0} role="region" aria-label="Sample rows">
            <table className="list">
              <thead>
                <tr>
                  {columns.map((c) => (
                    <th scope="col" key={c}>
                      {c.replace(/_/g, ' ')}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((r, i) => (
                  <tr key={i}>
                    {columns.map((c) => (
                      <td key={c} title={r[c]?.citation?.quote ?? ''}>
                        {r[c] ? show(r[c].value) : ''}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
            </div>
          )}
        </section>
      {tech && (d.status === 'ready' || d.status === 'needs_review') && (
        <section className="card inline-form" aria-label="Decide">
          <ProblemBanner error={submit.error ?? reject.error} />
          <button type="button" onClick={() => void submit.run()} disabled={submit.busy}>
            Submit {rows.length} samples
          </button>
          <Field label="Reason to reject" name="reason" value={reason} onChange={setReason} error={reject.fields.reason} />
          <button type="button" className="danger" onClick={() => void reject.run()} disabled={reject.busy}>
            Reject
          </button>
        </section>
      )}
    </>
  );
}

/** Every citation on one page, labelled by the field (or row and column) it gave a value to. */
function citesOn(x: Schemas['Extraction'] | null | undefined, page: number): Cite[] {
  if (!x) return [];
  const out: Cite[] = [];
  for (const [name, f] of Object.entries(x.fields)) {
    if (f.citation?.page === page) out.push({ label: name, offset: f.citation.offset, quote: f.citation.quote });
  }
  x.samples.forEach((row, i) => {
    for (const [col, f] of Object.entries(row)) {
      if (f.citation?.page === page) out.push({ label: `row${i + 1}.${col}`, offset: f.citation.offset, quote: f.citation.quote });
    }
  });
  return out;
}

function DocumentPage({ number, text, cites }: { number: number; text: string; cites: Cite[] }) {
  // Each label's first piece carries its anchor (`#cite-{label}`), linked from the fields.
  const anchored = new Set<string>();
  return (
    <section aria-label={`Page ${number}`} className="doc-page">
      <h3>Page {number}</h3>
      <pre>
        {pieces(text, cites).map((p) => {
          if (p.labels.length === 0) return p.text;
          const fresh = p.labels.filter((l) => !anchored.has(l));
          fresh.forEach((l) => anchored.add(l));
          return (
            <mark key={p.at} title={p.labels.join(', ')}>
              {fresh.map((l) => (
                <span key={l} id={`cite-${l}`} />
              ))}
              {p.text}
            </mark>
          );
        })}
      </pre>
    </section>
  );
}
