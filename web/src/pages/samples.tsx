// Samples: search and filter with cursor paging, a sample's detail (history, custody,
// location, lineage), registering one, and importing a manifest with its row errors.
import { useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import { useWindowVirtualizer } from '@tanstack/react-virtual';
import { Link, useLocation, useSearch } from 'wouter';
import { api, ok, type Schemas } from '../api/client';
import { atLeast } from '../roles';
import { useSession } from '../session';
import { Badge, Empty, Field, Loading, ProblemBanner, ProgressBar, useFollow, useLoad, useRenderTiming, useSubmit, when, submitWith } from '../components/ui';
import { PrintLabels } from '../components/labels';
import { ListExport } from '../components/exports';

type Sample = Schemas['Sample'];
type SampleType = Schemas['SampleType'];
type Status = Schemas['SampleStatus'];

export const SAMPLE_TYPES: SampleType[] = ['DNA', 'RNA', 'cDNA', 'Protein', 'Blood', 'Plasma', 'Serum', 'Saliva', 'Urine', 'Swab', 'Tissue', 'FFPE', 'Cell Culture', 'Cell Pellet', 'Environmental', 'Library', 'Pool', 'Other'];
const STATUSES: Status[] = ['pending', 'validated', 'rejected', 'in_storage', 'in_sequencing', 'completed', 'failed', 'archived'];

/** `v` when it is one of `names` (a filter from the address bar), else nothing. */
function oneOf<T extends string>(v: string | null, names: readonly T[]): T | undefined {
  return names.find((n) => n === v);
}
const PRIORITIES: Schemas['Priority'][] = ['low', 'normal', 'high', 'urgent'];

/** Rows drawn beyond the visible ones, so fast scrolling shows no gap. */
const OVERSCAN = 20;
/** A row's height in pixels (styles.css gives `.fixed tbody tr` the same). */
const ROW_PX = 34;

/**
 * The samples table. A page may hold 1,000 samples: only the rows near the viewport are
 * in the DOM (the window scrolls past spacer rows of the right height), links are plain
 * anchors with one click handler on the table, and the layout is fixed, so a render costs
 * the same for 50 samples as for 1,000.
 */
export function SampleTable({ items }: { items: Sample[] }) {
  const [, navigate] = useLocation();
  const body = useRef<HTMLTableSectionElement>(null);
  const rows = useWindowVirtualizer({
    count: items.length,
    estimateSize: () => ROW_PX,
    overscan: OVERSCAN,
    scrollMargin: body.current?.offsetTop ?? 0,
  });
  const visible = rows.getVirtualItems();
  useRenderTiming('sample-table', items, items.length === 0 || visible.length > 0);
  const before = visible.length ? visible[0].start - rows.options.scrollMargin : 0;
  const after = visible.length ? rows.getTotalSize() - (visible[visible.length - 1].end - rows.options.scrollMargin) : 0;
  const follow = (e: MouseEvent<HTMLTableElement>) => {
    const a = (e.target as HTMLElement).closest('a');
    if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(a.getAttribute('href') ?? '/samples');
  };
  return (
    <table className="list fixed" data-testid="sample-table" aria-rowcount={items.length + 1} onClick={follow}>
      <colgroup>
        <col className="w-barcode" />
        <col />
        <col className="w-type" />
        <col className="w-project" />
        <col className="w-status" />
        <col />
        <col className="w-when" />
      </colgroup>
      <thead>
        <tr aria-rowindex={1}>
          <th scope="col">Barcode</th>
          <th scope="col">Name</th>
          <th scope="col">Type</th>
          <th scope="col">Project</th>
          <th scope="col">Status</th>
          <th scope="col">Location</th>
          <th scope="col">Registered</th>
        </tr>
      </thead>
      <tbody ref={body}>
        {before > 0 && (
          <tr aria-hidden="true" className="spacer">
            <td colSpan={7} style={{ height: before }} />
          </tr>
        )}
        {visible.map((v) => {
          const s = items[v.index];
          return (
            <tr key={s.id} aria-rowindex={v.index + 2} data-index={v.index}>
              <td>
                <a href={`/samples/${s.id}`}>{s.barcode}</a>
              </td>
              <td>{s.name}</td>
              <td>{s.sample_type}</td>
              <td>{s.project ?? ''}</td>
              <td>
                <Badge value={s.status} />
              </td>
              <td>{s.storage ? `${s.storage.path} ${s.storage.position}` : ''}</td>
              <td>{when(s.created_at)}</td>
            </tr>
          );
        })}
        {after > 0 && (
          <tr aria-hidden="true" className="spacer">
            <td colSpan={7} style={{ height: after }} />
          </tr>
        )}
      </tbody>
    </table>
  );
}

/** Reads a sample export again (stable, so polling does not restart on each render). */
const pollSampleExport = (id: string) => ok(api.GET('/api/samples/exports/{id}', { params: { path: { id } } }));

export function SampleList() {
  const search = useSearch();
  const [, navigate] = useLocation();
  const { user } = useSession();
  const params = useMemo(() => new URLSearchParams(search), [search]);
  const [q, setQ] = useState(params.get('q') ?? '');
  // Cursors of the pages before this one, for going back.
  const [trail, setTrail] = useState<string[]>([]);
  const cursor = params.get('cursor') ?? undefined;
  const query = {
    q: params.get('q') || undefined,
    status: oneOf(params.get('status'), [...STATUSES, 'deleted'] as Status[]),
    sample_type: oneOf(params.get('sample_type'), SAMPLE_TYPES),
    project: params.get('project') || undefined,
    limit: Math.min(1000, Math.max(1, Number(params.get('limit')) || 50)),
    cursor,
  };
  const page = useLoad(() => ok(api.GET('/api/samples', { params: { query } })), [search]);
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(search);
    if (value) next.set(key, value);
    else next.delete(key);
    next.delete('cursor');
    setTrail([]);
    navigate(`/samples?${next}`);
  };
  const go = (c: string | undefined, back: boolean) => {
    const next = new URLSearchParams(search);
    if (c) next.set('cursor', c);
    else next.delete('cursor');
    setTrail((t) => (back ? t.slice(0, -1) : [...t, cursor ?? '']));
    navigate(`/samples?${next}`);
  };
  const tech = user?.platform_operator || atLeast(user?.role, 'lab_technician');
  const analyst = user?.platform_operator || atLeast(user?.role, 'data_analyst');
  // Every sample the filters select, not only this page.
  const { q: text, status, sample_type, project } = query;
  const startExport = (format: 'csv' | 'xlsx') =>
    ok(api.POST('/api/samples/exports', { params: { query: { format, q: text, status, sample_type, project } } }));
  return (
    <>
      <h1>Samples</h1>
      {tech && (
        <p className="actions">
          <Link className="button" href="/samples/new">
            Register a sample
          </Link>
          <Link className="button secondary" href="/samples/import">
            Import a manifest
          </Link>
        </p>
      )}
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          set('q', q.trim());
        }}
      >
        <Field label="Search (barcode or name)" name="q" value={q} onChange={setQ} />
        <Field label="Status" name="status">
          {(id) => (
            <select id={id} value={params.get('status') ?? ''} onChange={(e) => set('status', e.target.value)}>
              <option value="">Any</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s.replace(/_/g, ' ')}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Type" name="sample_type">
          {(id) => (
            <select id={id} value={params.get('sample_type') ?? ''} onChange={(e) => set('sample_type', e.target.value)}>
              <option value="">Any</option>
              {SAMPLE_TYPES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Project" name="project" value={params.get('project') ?? ''} onChange={(v) => set('project', v)} />
        <button type="submit">Search</button>
      </form>
      <ProblemBanner error={page.error} />
      {analyst && page.data && page.data.items.length > 0 && (
        <ListExport start={startExport} poll={pollSampleExport} label="Export every sample these filters select" />
      )}
      {page.loading && <Loading what="samples" />}
      {page.data && page.data.items.length === 0 && (
        <Empty>{search ? 'No sample matches these filters. Clear a filter to see more.' : 'No samples yet. Register one or import a manifest.'}</Empty>
      )}
      {page.data && page.data.items.length > 0 && <SampleTable items={page.data.items} />}
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={!cursor} onClick={() => go(trail[trail.length - 1] || undefined, true)}>
          Previous page
        </button>
        <button type="button" disabled={!page.data?.next_cursor} onClick={() => go(page.data?.next_cursor ?? undefined, false)}>
          Next page
        </button>
      </nav>
    </>
  );
}

export function SampleDetail({ id }: { id: string }) {
  const { user } = useSession();
  const sci = user?.platform_operator || atLeast(user?.role, 'research_scientist');
  const tech = user?.platform_operator || atLeast(user?.role, 'lab_technician');
  const sample = useLoad(() => ok(api.GET('/api/samples/{id}', { params: { path: { id } } })), [id]);
  const history = useLoad(() => ok(api.GET('/api/samples/{id}/history', { params: { path: { id } } })), [id]);
  const custody = useLoad(async () => (sci ? ok(api.GET('/api/samples/{id}/custody', { params: { path: { id } } })) : null), [id, sci]);
  const lineage = useLoad(async () => {
    // Parents up to the first sample (a sample's lineage is at most a few generations).
    const chain: Sample[] = [];
    let parent = sample.data?.parent_id;
    while (parent && chain.length < 10) {
      const p = await ok(api.GET('/api/samples/{id}', { params: { path: { id: parent } } }));
      chain.push(p);
      parent = p.parent_id;
    }
    return chain;
  }, [sample.data?.parent_id]);
  if (sample.loading && !sample.data) return <Loading what="the sample" />;
  if (sample.error) return <ProblemBanner error={sample.error} />;
  const s = sample.data;
  if (!s) return null;
  return (
    <>
      <h1>
        Sample {s.barcode} <Badge value={s.status} />
      </h1>
      <div className="grid">
        <section className="card" aria-labelledby="h-details">
          <h2 id="h-details">Details</h2>
          <dl>
            <dt>Name</dt>
            <dd>{s.name}</dd>
            <dt>Type</dt>
            <dd>{s.sample_type}</dd>
            <dt>Priority</dt>
            <dd>{s.priority}</dd>
            <dt>Project</dt>
            <dd>{s.project ?? '—'}</dd>
            <dt>Volume</dt>
            <dd>{s.volume != null ? `${s.volume} ${s.volume_unit ?? ''}` : '—'}</dd>
            <dt>Freeze-thaw cycles</dt>
            <dd>{s.freeze_thaw_count ?? 0}</dd>
            <dt>Registered</dt>
            <dd>{when(s.created_at)}</dd>
          </dl>
        </section>
        <section className="card" aria-labelledby="h-location">
          <h2 id="h-location">Location</h2>
          {s.storage ? (
            <p>
              <Link href={`/storage/${s.storage.location_id}`}>{s.storage.path}</Link> at <strong>{s.storage.position}</strong>
              {s.storage.checked_out && ' (checked out; its position waits for it)'}
            </p>
          ) : (
            <Empty>Not stored. Place it from the Scan screen.</Empty>
          )}
          {tech && s.status !== 'deleted' && (
            <>
              <h2>Label</h2>
              <PrintLabels sampleIds={[s.id]} name={`label-${s.barcode}`} />
            </>
          )}
          <h2>Lineage</h2>
          {lineage.data && lineage.data.length > 0 ? (
            <ol className="plain">
              {lineage.data.map((p) => (
                <li key={p.id}>
                  from <Link href={`/samples/${p.id}`}>{p.barcode}</Link> ({p.sample_type})
                </li>
              ))}
            </ol>
          ) : (
            <Empty>An original sample: it has no parent.</Empty>
          )}
        </section>
      </div>
      <section className="card" aria-labelledby="h-history">
        <h2 id="h-history">History</h2>
        <ProblemBanner error={history.error} />
        <table className="list">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Change</th>
              <th scope="col">By</th>
            </tr>
          </thead>
          <tbody>
            {history.data?.items.map((h) => (
              <tr key={h.id}>
                <td>{when(h.at)}</td>
                <td>{h.kind.replace(/_/g, ' ')}</td>
                <td>{h.from || h.to ? `${h.from ?? ''} → ${h.to ?? ''}` : (h.changed ?? []).join(', ')}</td>
                <td>{h.by}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {sci && (
        <section className="card" aria-labelledby="h-custody">
          <h2 id="h-custody">Chain of custody</h2>
          <ProblemBanner error={custody.error} />
          {custody.data?.items.length === 0 && <Empty>No movement yet.</Empty>}
          <table className="list">
            <tbody>
              {custody.data?.items.map((c) => (
                <tr key={c.id}>
                  <td>{when(c.at)}</td>
                  <td>
                    <Badge value={c.action} />
                  </td>
                  <td>
                    {c.from ? `${c.from.path} ${c.from.position}` : '—'} → {c.to ? `${c.to.path} ${c.to.position}` : '—'}
                  </td>
                  <td>{c.reason ?? ''}</td>
                  <td>{c.by}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </>
  );
}

export function RegisterSample() {
  const [, navigate] = useLocation();
  const [f, setF] = useState({ sample_type: 'DNA' as SampleType, name: '', barcode: '', project: '', priority: 'normal' as Schemas['Priority'], volume: '' });
  const submit = useSubmit(async () => {
    const body: Schemas['NewSample'] = {
      sample_type: f.sample_type,
      name: f.name || null,
      barcode: f.barcode || null,
      project: f.project || null,
      priority: f.priority,
      volume: f.volume ? Number(f.volume) : null,
      volume_unit: f.volume ? 'µL' : null,
    };
    const s = await ok(api.POST('/api/samples', { body }));
    navigate(`/samples/${s.id}`);
  });
  return (
    <section className="card narrow">
      <h1>Register a sample</h1>
      <form
        onSubmit={submitWith(submit.run)}
        noValidate
      >
        <ProblemBanner error={submit.error} />
        <Field label="Sample type" name="sample_type" error={submit.fields.sample_type}>
          {(id) => (
            <select id={id} value={f.sample_type} onChange={(e) => setF({ ...f, sample_type: e.target.value as SampleType })}>
              {SAMPLE_TYPES.map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Barcode (blank: the lab's next)" name="barcode" value={f.barcode} onChange={(v) => setF({ ...f, barcode: v })} error={submit.fields.barcode} />
        <Field label="Name" name="name" value={f.name} onChange={(v) => setF({ ...f, name: v })} error={submit.fields.name} />
        <Field label="Project" name="project" value={f.project} onChange={(v) => setF({ ...f, project: v })} error={submit.fields.project} />
        <Field label="Volume (µL)" name="volume" type="number" value={f.volume} onChange={(v) => setF({ ...f, volume: v })} error={submit.fields.volume} />
        <Field label="Priority" name="priority" error={submit.fields.priority}>
          {(id) => (
            <select id={id} value={f.priority} onChange={(e) => setF({ ...f, priority: e.target.value as Schemas['Priority'] })}>
              {PRIORITIES.map((p) => (
                <option key={p}>{p}</option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" disabled={submit.busy}>
          Register
        </button>
      </form>
    </section>
  );
}

const DONE: Schemas['ImportStatus'][] = ['completed', 'failed'];

function base64(bytes: ArrayBuffer): string {
  let s = '';
  const u = new Uint8Array(bytes);
  for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
  return btoa(s);
}

export function ImportSamples() {
  const templates = useLoad(() => ok(api.GET('/api/templates', { params: { query: { limit: 100 } } })), []);
  const published = templates.data?.items.filter((t) => t.published_version != null) ?? [];
  const [template, setTemplate] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [dryRun, setDryRun] = useState(false);
  const [started, setStarted] = useState<Schemas['ImportView'] | null>(null);
  const followed = useLoad(async () => (started ? ok(api.GET('/api/imports/{id}', { params: { path: { id: started.id } } })) : null), [started?.id]);
  const job = followed.data && followed.data.id === started?.id ? followed.data : started;
  useEffect(() => {
    if (!template && published[0]) setTemplate(published[0].id);
  }, [template, published]);
  // Follow the import until it ends.
  useFollow(followed, Boolean(job && !DONE.includes(job.status)), 700);
  const submit = useSubmit(async () => {
    if (!file) throw new Error('Choose a manifest file first');
    const content = base64(await file.arrayBuffer());
    const created = await ok(api.POST('/api/imports', { body: { template_id: template, content, filename: file.name, dry_run: dryRun } }));
    setStarted({ ...created, errors: [] } as Schemas['ImportView']);
  });
  return (
    <>
      <h1>Import a manifest</h1>
      <section className="card narrow">
        {templates.data && published.length === 0 && <Empty>No published template yet: a lab administrator publishes one first (Templates in the API).</Empty>}
        <form
          onSubmit={submitWith(submit.run)}
          noValidate
        >
          <ProblemBanner error={submit.error} />
          <Field label="Template" name="template_id" error={submit.fields.template_id}>
            {(id) => (
              <select id={id} value={template} onChange={(e) => setTemplate(e.target.value)}>
                {published.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.definition.name} (v{t.published_version})
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Manifest (CSV or XLSX, up to 10 MB)" name="file" error={submit.fields.content}>
            {(id) => <input id={id} type="file" accept=".csv,.xlsx,text/csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />}
          </Field>
          <label className="check">
            <input type="checkbox" checked={dryRun} onChange={(e) => setDryRun(e.target.checked)} /> Check only (write nothing)
          </label>
          <button type="submit" disabled={submit.busy || !template}>
            Import
          </button>
        </form>
      </section>
      {job && <ImportProgress job={job} />}
    </>
  );
}

function ImportProgress({ job }: { job: Schemas['ImportView'] }) {
  const done = DONE.includes(job.status);
  const committing = job.status === 'committing' || job.status === 'completed';
  return (
    <section className="card" aria-labelledby="h-import" aria-live="polite">
      <h2 id="h-import">
        Import <Badge value={job.status} />
      </h2>
      {committing ? (
        <ProgressBar value={job.rows_committed} max={job.rows_total} label="rows committed" />
      ) : (
        <ProgressBar value={job.rows_valid + job.errors_total} max={Math.max(job.rows_total, 1)} label="rows checked" />
      )}
      {done && job.status === 'completed' && (
        <p role="status">
          {job.dry_run ? `All ${job.rows_valid} rows are valid; nothing was written.` : `${job.rows_committed} samples registered.`}{' '}
          <Link href={`/samples`}>See the samples</Link>
        </p>
      )}
      {job.errors.length > 0 && (
        <>
          <p className="problem" role="alert">
            {job.errors_total} row errors: nothing was imported. Fix these rows and import again.
          </p>
          <table className="list" data-testid="row-errors">
            <thead>
              <tr>
                <th scope="col">Row</th>
                <th scope="col">Column</th>
                <th scope="col">Value</th>
                <th scope="col">Problem</th>
              </tr>
            </thead>
            <tbody>
              {job.errors.map((e, i) => (
                <tr key={i}>
                  <td>{e.row ?? ''}</td>
                  <td>{e.column ?? e.field ?? ''}</td>
                  <td>
                    <code>{e.value ?? ''}</code>
                  </td>
                  <td>{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
