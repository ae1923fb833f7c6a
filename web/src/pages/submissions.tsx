// Submissions (saga steps as a timeline) and document intake (the extracted fields with
// their confidence and the quoted passage each was read from; submit or reject).
import { useState } from 'react';
import { Link } from 'wouter';
import { api, ok, type Schemas } from '../api/client';
import { atLeast } from '../roles';
import { useSession } from '../session';
import { Badge, Empty, Field, Loading, ProblemBanner, ProgressBar, useLoad, useSubmit, when } from '../components/ui';

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
  useLoad(async () => {
    if (running) await new Promise((r) => setTimeout(r, 1000)).then(sub.reload);
  }, [running, s?.version, s?.steps?.length]);
  if (sub.error) return <ProblemBanner error={sub.error} />;
  if (!s) return <Loading what="the submission" />;
  return (
    <>
      <p className="crumbs">
        <Link href="/submissions">Submissions</Link> / {s.id}
      </p>
      <h1>
        Submission <Badge value={s.status} />
      </h1>
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

export function Documents() {
  const list = useLoad(() => ok(api.GET('/api/intake/documents', { params: { query: { limit: 100 } } })), []);
  return (
    <>
      <h1>Documents</h1>
      <p className="muted">Submission forms (PDF, DOCX, EML, TXT) read into samples for review.</p>
      <ProblemBanner error={list.error} />
      {list.loading && <Loading what="documents" />}
      {list.data?.items.length === 0 && <Empty>No documents yet. They arrive through POST /api/intake/documents and its upload link.</Empty>}
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
  const [reason, setReason] = useState('');
  const submit = useSubmit(async () => {
    await ok(api.POST('/api/intake/documents/{id}/submit', { params: { path: { id } }, body: {} }));
    doc.reload();
  });
  const reject = useSubmit(async () => {
    await ok(api.POST('/api/intake/documents/{id}/reject', { params: { path: { id } }, body: { reason } }));
    doc.reload();
  });
  if (doc.error) return <ProblemBanner error={doc.error} />;
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
      {d.progress && d.status === 'extracting' && <ProgressBar value={d.progress.percent} max={100} label={d.progress.stage} />}
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
      <div className="grid">
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
                  <td>{f.citation ? <q title={`page ${f.citation.page}, character ${f.citation.offset}`}>{f.citation.quote}</q> : <em>typed by a person</em>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section className="card" aria-labelledby="h-rows">
          <h2 id="h-rows">Samples ({rows.length})</h2>
          {rows.length === 0 && <Empty>No sample rows found.</Empty>}
          {rows.length > 0 && (
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
          )}
        </section>
      </div>
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
