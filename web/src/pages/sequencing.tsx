// Sequencing: jobs, libraries, pools and runs; planning a run with pools per lane; a run's
// sample sheet (validated, downloaded as v2 or v1), its start saga and QC against thresholds.
import { useState } from 'react';
import { Link, useLocation } from 'wouter';
import { api, ApiError, ok, toProblem, type Schemas } from '../api/client';
import { atLeast } from '../roles';
import { useSession } from '../session';
import { Badge, Empty, Field, Loading, ProblemBanner, useLoad, useSubmit, when, submitWith, saveFile } from '../components/ui';
import { TableDownload } from '../components/exports';

type Tab = 'runs' | 'pools' | 'libraries' | 'jobs';

export function Sequencing() {
  const [tab, setTab] = useState<Tab>('runs');
  const { user } = useSession();
  const tech = user?.platform_operator || atLeast(user?.role, 'lab_technician');
  return (
    <>
      <h1>Sequencing</h1>
      <div role="tablist" aria-label="Sequencing" className="tabs">
        {(['runs', 'pools', 'libraries', 'jobs'] as Tab[]).map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} className={tab === t ? 'active' : ''} onClick={() => setTab(t)}>
            {t[0].toUpperCase() + t.slice(1)}
          </button>
        ))}
      </div>
      <div role="tabpanel">
        {tab === 'runs' && <Runs tech={tech} />}
        {tab === 'pools' && <Pools tech={tech} />}
        {tab === 'libraries' && <Libraries tech={tech} />}
        {tab === 'jobs' && <Jobs />}
      </div>
    </>
  );
}

function Runs({ tech }: { tech: boolean }) {
  const runs = useLoad(() => ok(api.GET('/api/sequencing/runs', { params: { query: { limit: 100 } } })), []);
  return (
    <section aria-label="Runs">
      <ProblemBanner error={runs.error} />
      {runs.loading && <Loading what="runs" />}
      {runs.data?.items.length === 0 && <Empty>No runs yet. Pool libraries first, then plan a run.</Empty>}
      {runs.data && runs.data.items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Instrument</th>
              <th scope="col">Flow cell</th>
              <th scope="col">Lanes</th>
              <th scope="col">Status</th>
              <th scope="col">QC</th>
            </tr>
          </thead>
          <tbody>
            {runs.data.items.map((r) => (
              <tr key={r.id}>
                <td>
                  <Link href={`/sequencing/runs/${r.id}`}>{r.name}</Link>
                </td>
                <td>{r.instrument}</td>
                <td>{r.flow_cell}</td>
                <td>{r.lanes.length}</td>
                <td>
                  <Badge value={r.status} />
                </td>
                <td>{r.qc ? <Badge value={r.qc.verdict} /> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {tech && <PlanRun onPlanned={runs.reload} />}
    </section>
  );
}

function PlanRun({ onPlanned }: { onPlanned: () => void }) {
  const [, navigate] = useLocation();
  const instruments = useLoad(() => ok(api.GET('/api/sequencing/instruments')), []);
  const pools = useLoad(() => ok(api.GET('/api/pools', { params: { query: { limit: 200 } } })), []);
  const [f, setF] = useState({ name: '', instrument: 'MiSeq' as Schemas['Instrument'], flow_cell: '', read1: '151', index1: '8', index2: '8', read2: '151', pool: '' });
  const info = instruments.data?.items.find((i) => i.name === f.instrument);
  const flowCell = f.flow_cell || info?.flow_cells[0]?.name || '';
  const lanes = info?.flow_cells.find((c) => c.name === flowCell)?.lanes ?? 1;
  const pool = f.pool || pools.data?.items[0]?.id || '';
  const submit = useSubmit(async () => {
    const run = await ok(
      api.POST('/api/sequencing/runs', {
        body: {
          name: f.name,
          instrument: f.instrument,
          flow_cell: flowCell,
          reads: { read1: Number(f.read1), index1: Number(f.index1), index2: Number(f.index2), read2: Number(f.read2) },
          lanes: Array.from({ length: lanes }, (_, i) => ({ lane: i + 1, pool_ids: pool ? [pool] : [] })),
        },
      }),
    );
    onPlanned();
    navigate(`/sequencing/runs/${run.id}`);
  });
  return (
    <form
      className="card inline-form"
      aria-label="Plan a run"
      onSubmit={submitWith(submit.run)}
      noValidate
    >
      <h2>Plan a run</h2>
      <ProblemBanner error={submit.error} />
      <Field label="Run name" name="name" value={f.name} onChange={(v) => setF({ ...f, name: v })} error={submit.fields.name} />
      <Field label="Instrument" name="instrument" error={submit.fields.instrument}>
        {(id) => (
          <select id={id} value={f.instrument} onChange={(e) => setF({ ...f, instrument: e.target.value as Schemas['Instrument'], flow_cell: '' })}>
            {instruments.data?.items.map((i) => (
              <option key={i.name}>{i.name}</option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Flow cell" name="flow_cell" error={submit.fields.flow_cell}>
        {(id) => (
          <select id={id} value={flowCell} onChange={(e) => setF({ ...f, flow_cell: e.target.value })}>
            {info?.flow_cells.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name} ({c.lanes} lane{c.lanes === 1 ? '' : 's'})
              </option>
            ))}
          </select>
        )}
      </Field>
      <fieldset>
        <legend>Cycles</legend>
        {(['read1', 'index1', 'index2', 'read2'] as const).map((k) => (
          <Field key={k} label={k} name={k} type="number" value={f[k]} onChange={(v) => setF({ ...f, [k]: v })} error={submit.fields[`reads.${k}`]} />
        ))}
      </fieldset>
      <Field label={`Pool on every lane (${lanes})`} name="pool" error={submit.fields.lanes}>
        {(id) => (
          <select id={id} value={pool} onChange={(e) => setF({ ...f, pool: e.target.value })}>
            {pools.data?.items.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} ({p.members} libraries)
              </option>
            ))}
          </select>
        )}
      </Field>
      <button type="submit" disabled={submit.busy}>
        Plan run
      </button>
    </form>
  );
}

async function download(id: string, format: 'v1' | 'v2', name: string) {
  const { data, error, response } = await api.GET('/api/sequencing/runs/{id}/samplesheet', {
    params: { path: { id }, query: { format } },
    parseAs: 'text',
  });
  if (!response.ok || typeof data !== 'string') throw new ApiError(response.status, toProblem(response.status, error));
  saveFile(new Blob([data], { type: 'text/csv' }), `${name}-SampleSheet-${format}.csv`);
}

export function RunDetail({ id }: { id: string }) {
  const { user } = useSession();
  const tech = user?.platform_operator || atLeast(user?.role, 'lab_technician');
  const run = useLoad(() => ok(api.GET('/api/sequencing/runs/{id}', { params: { path: { id } } })), [id]);
  const thresholds = useLoad(() => ok(api.GET('/api/sequencing/qc-thresholds')), []);
  const [check, setCheck] = useState<Schemas['SheetCheck'] | null>(null);
  const validate = useSubmit(async () => setCheck(await ok(api.POST('/api/sequencing/runs/{id}/samplesheet/validate', { params: { path: { id } } }))));
  const sheet = useSubmit(async (format: 'v1' | 'v2') => download(id, format, run.data?.name ?? 'run'));
  const start = useSubmit(async () => {
    await ok(api.POST('/api/sequencing/runs/{id}/start', { params: { path: { id } }, body: { version: run.data?.version ?? null } }));
    run.reload();
  });
  if (run.error) return <ProblemBanner error={run.error} />;
  if (!run.data) return <Loading what="the run" />;
  const r = run.data;
  return (
    <>
      <p className="crumbs">
        <Link href="/sequencing">Sequencing</Link> / {r.name}
      </p>
      <h1>
        Run {r.name} <Badge value={r.status} />
      </h1>
      <p>
        {r.instrument} · flow cell {r.flow_cell} · reads {r.reads.read1}-{r.reads.index1}-{r.reads.index2}-{r.reads.read2} · {r.barcode_mismatches} mismatch
        {r.barcode_mismatches === 1 ? '' : 'es'} allowed
      </p>
      <div className="grid">
        <section className="card" aria-labelledby="h-lanes">
          <h2 id="h-lanes">Lanes</h2>
          <table className="list">
            <tbody>
              {r.lanes.map((l) => (
                <tr key={l.lane}>
                  <th scope="row">Lane {l.lane}</th>
                  <td>{l.pool_ids.length ? l.pool_ids.join(', ') : <em>empty</em>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <TableDownload path={`/api/sequencing/runs/${encodeURIComponent(r.id)}`} name={`run-${r.name}-samples`} label="Download the run's samples" />
        </section>
        <section className="card" aria-labelledby="h-sheet">
          <h2 id="h-sheet">Sample sheet</h2>
          <ProblemBanner error={validate.error ?? sheet.error} />
          <p className="actions">
            <button type="button" onClick={() => void validate.run()} disabled={validate.busy}>
              Check the sheet
            </button>
            <button type="button" onClick={() => void sheet.run('v2')} disabled={sheet.busy}>
              Download v2 (BCL Convert)
            </button>
            <button type="button" className="secondary" onClick={() => void sheet.run('v1')} disabled={sheet.busy}>
              Download v1 (bcl2fastq)
            </button>
          </p>
          {check && (
            <div role="status">
              <p>{check.valid ? `The sheet is valid (${check.warnings} warnings).` : `${check.errors} errors: the sheet cannot be exported yet.`}</p>
              <ul>
                {check.issues.map((i, n) => (
                  <li key={n}>
                    <Badge value={i.severity} /> {i.lane != null && `lane ${i.lane}: `}
                    {i.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </section>
        <section className="card" aria-labelledby="h-start">
          <h2 id="h-start">Start</h2>
          <ProblemBanner error={start.error} />
          {r.start ? (
            <ol className="timeline">
              {r.start.steps.map((s, i) => (
                <li key={i} className={`step-${s.outcome}`}>
                  {s.name} <Badge value={s.outcome} /> <span className="muted">{when(s.ended_at ?? s.started_at)}</span>
                </li>
              ))}
            </ol>
          ) : (
            <Empty>Not started. Starting reserves its pools, builds and stores the sheet, and notifies the requester.</Empty>
          )}
          {tech && (r.status === 'planned' || r.status === 'loaded') && (
            <button type="button" onClick={() => void start.run()} disabled={start.busy}>
              Start run
            </button>
          )}
        </section>
        <section className="card" aria-labelledby="h-qc">
          <h2 id="h-qc">QC</h2>
          {!r.qc && <Empty>No QC metrics yet: they arrive from the instrument's run folder.</Empty>}
          {r.qc && (
            <>
              <p>
                Verdict <Badge value={r.qc.verdict} /> ({when(r.qc.submitted_at)})
              </p>
              <table className="list">
                <thead>
                  <tr>
                    <th scope="col">Lane / library</th>
                    <th scope="col">Metric</th>
                    <th scope="col">Value</th>
                    <th scope="col">Pass band</th>
                    <th scope="col">Verdict</th>
                  </tr>
                </thead>
                <tbody>
                  {r.qc.results.flatMap((q, i) =>
                    q.findings.map((f, j) => {
                      const t = thresholds.data?.thresholds[f.metric];
                      return (
                        <tr key={`${i}-${j}`}>
                          <td>{q.lane != null ? `lane ${q.lane}` : q.library_id}</td>
                          <td>{f.metric.replace(/_/g, ' ')}</td>
                          <td className="num">{f.value}</td>
                          <td>{t ? `${t.pass_min ?? '−∞'} … ${t.pass_max ?? '∞'}` : ''}</td>
                          <td>
                            <Badge value={f.verdict} />
                          </td>
                        </tr>
                      );
                    }),
                  )}
                </tbody>
              </table>
            </>
          )}
        </section>
      </div>
    </>
  );
}

function Pools({ tech }: { tech: boolean }) {
  const pools = useLoad(() => ok(api.GET('/api/pools', { params: { query: { limit: 200 } } })), []);
  const libraries = useLoad(() => ok(api.GET('/api/libraries', { params: { query: { limit: 500 } } })), []);
  const [name, setName] = useState('');
  const [pool, setPool] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const create = useSubmit(async () => {
    await ok(api.POST('/api/pools', { body: { name } }));
    setName('');
    pools.reload();
  });
  const add = useSubmit(async () => {
    const target = await ok(api.GET('/api/pools/{id}', { params: { path: { id: pool } } }));
    await ok(api.POST('/api/pools/{id}/libraries', { params: { path: { id: pool } }, body: { library_ids: chosen, version: target.version } }));
    setChosen([]);
    pools.reload();
  });
  return (
    <section aria-label="Pools">
      <ProblemBanner error={pools.error} />
      {pools.data?.items.length === 0 && <Empty>No pools yet. Create one, then add libraries to it.</Empty>}
      {pools.data && pools.data.items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Pool</th>
              <th scope="col">Libraries</th>
              <th scope="col">Mismatches</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {pools.data.items.map((p) => (
              <tr key={p.id}>
                <td>{p.name}</td>
                <td className="num">{p.members}</td>
                <td className="num">{p.barcode_mismatches}</td>
                <td>{when(p.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {tech && (
        <div className="grid">
          <form
            className="card inline-form"
            aria-label="Create a pool"
            onSubmit={submitWith(create.run)}
            noValidate
          >
            <h2>Create a pool</h2>
            <ProblemBanner error={create.error} />
            <Field label="Pool name" name="pool_name" value={name} onChange={setName} error={create.fields.name} />
            <button type="submit" disabled={create.busy}>
              Create pool
            </button>
          </form>
          <form
            className="card inline-form"
            aria-label="Add libraries to a pool"
            onSubmit={submitWith(add.run)}
            noValidate
          >
            <h2>Add libraries to a pool</h2>
            <ProblemBanner error={add.error} />
            <Field label="Pool" name="pool">
              {(id) => (
                <select id={id} value={pool} onChange={(e) => setPool(e.target.value)}>
                  <option value="">Choose a pool</option>
                  {pools.data?.items.map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <fieldset className="choices">
              <legend>Libraries</legend>
              {libraries.data?.items.length === 0 && <Empty>No libraries yet.</Empty>}
              {libraries.data?.items.map((l) => (
                <label key={l.id}>
                  <input type="checkbox" checked={chosen.includes(l.id)} onChange={(e) => setChosen(e.target.checked ? [...chosen, l.id] : chosen.filter((x) => x !== l.id))} /> {l.name} ({l.sample_barcode}, {l.i7_name ?? ''}
                  {l.i5_name ? `/${l.i5_name}` : ''})
                </label>
              ))}
            </fieldset>
            <button type="submit" disabled={add.busy || !pool || chosen.length === 0}>
              Add {chosen.length} to pool
            </button>
          </form>
        </div>
      )}
    </section>
  );
}

function Libraries({ tech }: { tech: boolean }) {
  const libraries = useLoad(() => ok(api.GET('/api/libraries', { params: { query: { limit: 500 } } })), []);
  const kits = useLoad(() => ok(api.GET('/api/sequencing/index-kits')), []);
  const [f, setF] = useState({ sample: '', kit: 'nextera-xt-v2', i7: '', i5: '', name: '' });
  const kit = kits.data?.items.find((k) => k.id === f.kit);
  const submit = useSubmit(async () => {
    const sample = await ok(api.GET('/api/samples/by-barcode/{barcode}', { params: { path: { barcode: f.sample } } }));
    await ok(api.POST('/api/libraries', { body: { sample_id: sample.id, kit: f.kit, i7: f.i7, i5: f.i5 || undefined, name: f.name || undefined } }));
    setF({ ...f, sample: '', name: '' });
    libraries.reload();
  });
  return (
    <section aria-label="Libraries">
      <ProblemBanner error={libraries.error} />
      {libraries.data?.items.length === 0 && <Empty>No libraries yet. Make one from a sample below.</Empty>}
      {libraries.data && libraries.data.items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Library</th>
              <th scope="col">Sample</th>
              <th scope="col">Kit</th>
              <th scope="col">i7</th>
              <th scope="col">i5</th>
            </tr>
          </thead>
          <tbody>
            {libraries.data.items.map((l) => (
              <tr key={l.id}>
                <td>{l.name}</td>
                <td>
                  <Link href={`/samples/${l.sample_id}`}>{l.sample_barcode}</Link>
                </td>
                <td>{l.kit}</td>
                <td>
                  <code>{l.i7_name ?? l.i7}</code>
                </td>
                <td>
                  <code>{l.i5_name ?? l.i5 ?? ''}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {tech && (
        <form
          className="card inline-form"
          aria-label="Make a library"
          onSubmit={submitWith(submit.run)}
          noValidate
        >
          <h2>Make a library</h2>
          <ProblemBanner error={submit.error} />
          <Field label="Sample barcode" name="sample" value={f.sample} onChange={(v) => setF({ ...f, sample: v })} error={submit.fields.sample_id} />
          <Field label="Library name (optional)" name="library_name" value={f.name} onChange={(v) => setF({ ...f, name: v })} error={submit.fields.name} />
          <Field label="Index kit" name="kit" error={submit.fields.kit}>
            {(id) => (
              <select id={id} value={f.kit} onChange={(e) => setF({ ...f, kit: e.target.value })}>
                {kits.data?.items.map((k) => (
                  <option key={k.id} value={k.id}>
                    {k.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="i7 index" name="i7" error={submit.fields.i7}>
            {(id) => (
              <select id={id} value={f.i7} onChange={(e) => setF({ ...f, i7: e.target.value })}>
                <option value="">Choose</option>
                {kit?.i7.map((i) => (
                  <option key={i.name}>{i.name}</option>
                ))}
              </select>
            )}
          </Field>
          <Field label="i5 index" name="i5" error={submit.fields.i5}>
            {(id) => (
              <select id={id} value={f.i5} onChange={(e) => setF({ ...f, i5: e.target.value })}>
                <option value="">None</option>
                {kit?.i5.map((i) => (
                  <option key={i.name}>{i.name}</option>
                ))}
              </select>
            )}
          </Field>
          <button type="submit" disabled={submit.busy}>
            Make library
          </button>
        </form>
      )}
    </section>
  );
}

function Jobs() {
  const jobs = useLoad(() => ok(api.GET('/api/sequencing/jobs', { params: { query: { limit: 100 } } })), []);
  return (
    <section aria-label="Jobs">
      <ProblemBanner error={jobs.error} />
      {jobs.data?.items.length === 0 && <Empty>No sequencing jobs. A submission can request one, or the API's POST /api/sequencing/jobs.</Empty>}
      {jobs.data && jobs.data.items.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Samples</th>
              <th scope="col">Priority</th>
              <th scope="col">Status</th>
              <th scope="col">Requested</th>
            </tr>
          </thead>
          <tbody>
            {jobs.data.items.map((j) => (
              <tr key={j.id}>
                <td>{j.name}</td>
                <td className="num">{j.sample_ids.length}</td>
                <td>{j.priority}</td>
                <td>
                  <Badge value={j.status} />
                </td>
                <td>{when(j.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
