// Storage: the location tree with capacity bars, a box map as a grid, adding locations,
// and the scan desk where a keyboard-wedge scanner types a barcode and Enter.
import { useEffect, useRef, useState } from 'react';
import { Link } from 'wouter';
import { api, ok, type Schemas } from '../api/client';
import { atLeast } from '../roles';
import { useSession } from '../session';
import { cellClass, describe, grid, rowLabel } from '../components/boxmap';
import { PrintLabels } from '../components/labels';
import { TableDownload } from '../components/exports';
import { TemperaturePanel } from '../components/temperature';
import { Badge, Empty, Field, Loading, ProblemBanner, ProgressBar, useLoad, useRenderTiming, useSubmit, submitWith } from '../components/ui';

type LocationView = Schemas['LocationView'];
type Kind = Schemas['LocationKind'];
const UNITS: Kind[] = ['freezer', 'fridge', 'incubator', 'ln2_dewar', 'cabinet'];
const KINDS: Kind[] = ['site', 'building', 'room', 'freezer', 'fridge', 'incubator', 'ln2_dewar', 'cabinet', 'shelf', 'rack', 'drawer', 'box', 'plate'];
const ZONES: Schemas['Zone'][] = ['ultra_low', 'freezer', 'refrigerated', 'room_temperature', 'incubator', 'ln2_vapor'];

function LocationRows({ items }: { items: LocationView[] }) {
  return (
    <table className="list">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Kind</th>
          <th scope="col">Barcode</th>
          <th scope="col">Fill</th>
        </tr>
      </thead>
      <tbody>
        {items.map((l) => (
          <tr key={l.id}>
            <td>
              <Link href={`/storage/${l.id}`}>{l.name}</Link>
            </td>
            <td>{l.kind.replace(/_/g, ' ')}</td>
            <td>
              <code>{l.barcode}</code>
            </td>
            <td className="fill">{(l.capacity ?? 0) > 0 ? <ProgressBar value={l.occupied ?? 0} max={l.capacity ?? 0} label={`${l.percent_full.toFixed(0)}% full`} /> : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function StorageTree() {
  const { user } = useSession();
  const top = useLoad(() => ok(api.GET('/api/storage/locations', { params: { query: { limit: 200 } } })), []);
  const tech = user?.platform_operator || atLeast(user?.role, 'lab_technician');
  return (
    <>
      <h1>Storage</h1>
      <ProblemBanner error={top.error} />
      {top.loading && <Loading what="locations" />}
      {top.data && top.data.items.length === 0 && <Empty>No storage yet. Add a site, a room or a freezer below.</Empty>}
      {top.data && top.data.items.length > 0 && <LocationRows items={top.data.items} />}
      {tech && <AddLocation parent={null} onAdded={top.reload} />}
    </>
  );
}

export function LocationScreen({ id }: { id: string }) {
  const { user } = useSession();
  const tech = user?.platform_operator || atLeast(user?.role, 'lab_technician');
  const loc = useLoad(() => ok(api.GET('/api/storage/locations/{id}', { params: { path: { id } } })), [id]);
  const isGrid = loc.data?.kind === 'box' || loc.data?.kind === 'plate';
  const children = useLoad(
    async () => (loc.data && !isGrid ? ok(api.GET('/api/storage/locations/{id}/children', { params: { path: { id }, query: { limit: 500 } } })) : null),
    [id, loc.data?.id, isGrid],
  );
  if (loc.error) return <ProblemBanner error={loc.error} />;
  if (!loc.data) return <Loading what="the location" />;
  const l = loc.data;
  return (
    <>
      <p className="crumbs">
        <Link href="/storage">Storage</Link> / {l.path}
      </p>
      <h1>
        {l.name} <small>({l.kind.replace(/_/g, ' ')})</small>
      </h1>
      <p>
        Barcode <code>{l.barcode}</code>
        {l.effective_zone && <> · zone {l.effective_zone.replace(/_/g, ' ')}</>}
        {l.unit_status && l.unit_status !== 'active' && (
          <>
            {' '}
            · <Badge value={l.unit_status} />
          </>
        )}
      </p>
      {(l.capacity ?? 0) > 0 && <ProgressBar value={l.occupied ?? 0} max={l.capacity ?? 0} label="positions used" />}
      {l.zone && <TemperaturePanel unit={l} />}
      {isGrid ? (
        <BoxMap id={id} />
      ) : (
        <>
          <h2>Contents</h2>
          <ProblemBanner error={children.error} />
          {children.data && children.data.items.length === 0 && <Empty>Empty. Add what it holds below.</Empty>}
          {children.data && children.data.items.length > 0 && <LocationRows items={children.data.items} />}
          {tech && <AddLocation key={l.id} parent={l} onAdded={children.reload} />}
        </>
      )}
    </>
  );
}

export function BoxMap({ id }: { id: string }) {
  const map = useLoad(() => ok(api.GET('/api/storage/locations/{id}/map', { params: { path: { id } } })), [id]);
  const [picked, setPicked] = useState<Schemas['MapCell'] | null>(null);
  if (map.error) return <ProblemBanner error={map.error} />;
  if (!map.data) return <Loading what="the box map" />;
  return <BoxGrid map={map.data} picked={picked} onPick={setPicked} reload={map.reload} />;
}

function BoxGrid({ map: m, picked, onPick: setPicked, reload }: { map: Schemas['BoxMap']; picked: Schemas['MapCell'] | null; onPick: (c: Schemas['MapCell']) => void; reload: () => void }) {
  const { user } = useSession();
  const tech = user?.platform_operator || atLeast(user?.role, 'lab_technician');
  useRenderTiming('box-map', m);
  const rows = grid(m.rows, m.columns, m.cells);
  const used = m.cells.filter((c) => c.occupant).length;
  return (
    <section aria-labelledby="h-map">
      <h2 id="h-map">
        Box map <small>({used} of {m.cells.length} used)</small>
      </h2>
      <p className="legend" aria-hidden="true">
        <span className="well empty" /> empty <span className="well status-in_storage" /> in storage <span className="well checked-out" /> checked out{' '}
        <span className="well status-in_sequencing" /> in sequencing
      </p>
      <table className="boxmap" data-testid="box-map" style={{ ['--cols' as string]: m.columns }}>
        <thead>
          <tr>
            <td />
            {Array.from({ length: m.columns }, (_, c) => (
              <th scope="col" key={c}>
                {c + 1}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, r) => (
            <tr key={r}>
              <th scope="row">{rowLabel(r)}</th>
              {row.map((cell, c) => (
                <td key={c}>
                  {cell && (
                    <button type="button" className={cellClass(cell)} aria-label={describe(cell)} title={describe(cell)} data-position={cell.position} onClick={() => setPicked(cell)} />
                  )}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {picked && (
        <p className="picked" role="status">
          {picked.position}:{' '}
          {picked.occupant ? (
            <>
              <Link href={`/samples/${picked.occupant.sample_id}`}>{picked.occupant.barcode}</Link> ({picked.occupant.sample_type}, {picked.occupant.status.replace(/_/g, ' ')}
              {picked.occupant.checked_out ? ', checked out' : ''})
            </>
          ) : (
            'empty'
          )}
        </p>
      )}
      <button type="button" className="secondary" onClick={reload}>
        Refresh map
      </button>
      {used > 0 && (
        <TableDownload path={`/api/storage/locations/${encodeURIComponent(m.location.id)}/map`} name={`box-${m.location.barcode}`} label="Download the box's contents" />
      )}
      {tech && used > 0 && (
        <>
          <h3>Labels for this box</h3>
          <PrintLabels sampleIds={m.cells.flatMap((c) => (c.occupant ? [c.occupant.sample_id] : []))} name={`labels-${m.location.barcode}`} />
        </>
      )}
    </section>
  );
}

function AddLocation({ parent, onAdded }: { parent: LocationView | null; onAdded: () => void }) {
  const [f, setF] = useState({ name: '', kind: (parent ? 'shelf' : 'freezer') as Kind, zone: 'ultra_low' as Schemas['Zone'], rows: '9', columns: '9' });
  const grid = f.kind === 'box' || f.kind === 'plate';
  const unit = UNITS.includes(f.kind);
  const submit = useSubmit(async () => {
    const body: Schemas['NewLocation'] = {
      name: f.name,
      kind: f.kind,
      parent_id: parent?.id ?? null,
      zone: unit ? f.zone : null,
      rows: grid ? Number(f.rows) : null,
      columns: grid ? Number(f.columns) : null,
    } as Schemas['NewLocation'];
    // The document states which fields each tier of kind takes (one branch per tier); the
    // kind is chosen at run time, so this body is not narrowed to a branch: the server
    // checks it.
    await ok(api.POST('/api/storage/locations', { body: body as never }));
    setF({ ...f, name: '' });
    onAdded();
  });
  return (
    <form
      className="card inline-form"
      aria-label="Add a location"
      onSubmit={submitWith(submit.run)}
      noValidate
    >
      <h2>Add a location {parent ? `in ${parent.name}` : 'at the top'}</h2>
      <ProblemBanner error={submit.error} />
      <Field label="Name" name="name" value={f.name} onChange={(v) => setF({ ...f, name: v })} error={submit.fields.name} />
      <Field label="Kind" name="kind" error={submit.fields.kind}>
        {(id) => (
          <select id={id} value={f.kind} onChange={(e) => setF({ ...f, kind: e.target.value as Kind })}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        )}
      </Field>
      {unit && (
        <Field label="Temperature zone" name="zone" error={submit.fields.zone}>
          {(id) => (
            <select id={id} value={f.zone} onChange={(e) => setF({ ...f, zone: e.target.value as Schemas['Zone'] })}>
              {ZONES.map((z) => (
                <option key={z} value={z}>
                  {z.replace(/_/g, ' ')}
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      {grid && (
        <>
          <Field label="Rows" name="rows" type="number" value={f.rows} onChange={(v) => setF({ ...f, rows: v })} error={submit.fields.rows} />
          <Field label="Columns" name="columns" type="number" value={f.columns} onChange={(v) => setF({ ...f, columns: v })} error={submit.fields.columns} />
        </>
      )}
      <button type="submit" disabled={submit.busy}>
        Add
      </button>
    </form>
  );
}

type Action = 'place' | 'move' | 'retrieve' | 'return' | 'dispose';
const ACTIONS: { value: Action; label: string; path: '/api/storage/placements' | '/api/storage/moves' | '/api/storage/retrievals' | '/api/storage/returns' | '/api/storage/disposals'; target: boolean; reason: boolean }[] = [
  { value: 'place', label: 'Place', path: '/api/storage/placements', target: true, reason: false },
  { value: 'move', label: 'Move', path: '/api/storage/moves', target: true, reason: true },
  { value: 'retrieve', label: 'Check out', path: '/api/storage/retrievals', target: false, reason: false },
  { value: 'return', label: 'Check in', path: '/api/storage/returns', target: false, reason: false },
  { value: 'dispose', label: 'Dispose', path: '/api/storage/disposals', target: false, reason: true },
];

/**
 * Scanning: samples are scanned one after another into a list, then (for place and move)
 * the target box; positions are given (`B3`) or taken in the box's fill order.
 */
export function ScanDesk() {
  const [action, setAction] = useState<Action>('place');
  const spec = ACTIONS.find((a) => a.value === action) ?? ACTIONS[0];
  const [code, setCode] = useState('');
  const [samples, setSamples] = useState<{ barcode: string; position: string }[]>([]);
  const [box, setBox] = useState<LocationView | null>(null);
  const [reason, setReason] = useState('');
  const [last, setLast] = useState<Schemas['CustodyOutcome'] | null>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), [action]);
  const scan = useSubmit(async (barcode: string) => {
    const found = await ok(api.GET('/api/storage/scan/{barcode}', { params: { path: { barcode } } }));
    if (found.kind === 'location') {
      if (!spec.target) throw new Error(`${barcode} is a location; ${spec.label.toLowerCase()} needs samples only`);
      setBox(found.location);
    } else if (!samples.some((s) => s.barcode === found.sample.barcode)) {
      setSamples((s) => [...s, { barcode: found.sample.barcode, position: '' }]);
    }
  });
  const submit = useSubmit(async () => {
    // Each item names its own target: the request's top-level target covers only items
    // with neither a box nor a position of their own.
    const items = samples.map((s) => ({
      barcode: s.barcode,
      location_id: spec.target ? (box?.id ?? null) : null,
      position: spec.target && s.position ? s.position : null,
      auto: spec.target && !s.position ? true : null,
    }));
    const body: Schemas['PlacementRequest'] = { items, reason: spec.reason ? reason : null };
    setLast(await ok(api.POST(spec.path, { body })));
    setSamples([]);
    setReason('');
  });
  return (
    <>
      <h1>Scan</h1>
      <fieldset className="actions-choice">
        <legend>What are you doing?</legend>
        {ACTIONS.map((a) => (
          <label key={a.value}>
            <input type="radio" name="action" value={a.value} checked={action === a.value} onChange={() => (setAction(a.value), setLast(null))} /> {a.label}
          </label>
        ))}
      </fieldset>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const c = code.trim();
          setCode('');
          if (c) void scan.run(c);
        }}
      >
        <Field label={spec.target ? 'Scan samples, then the target box' : 'Scan samples'} name="scan">
          {(id) => <input id={id} ref={input} value={code} onChange={(e) => setCode(e.target.value)} autoComplete="off" data-testid="scan-input" />}
        </Field>
      </form>
      <ProblemBanner error={scan.error} />
      {samples.length === 0 ? (
        <Empty>Scan a sample's barcode (a scanner types it and presses Enter).</Empty>
      ) : (
        <table className="list" data-testid="scanned">
          <thead>
            <tr>
              <th scope="col">Sample</th>
              {spec.target && <th scope="col">Position (blank: next free)</th>}
              <th scope="col">
                <span className="sr-only">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {samples.map((s, i) => (
              <tr key={s.barcode}>
                <td>
                  <code>{s.barcode}</code>
                </td>
                {spec.target && (
                  <td>
                    <input aria-label={`Position of ${s.barcode}`} value={s.position} onChange={(e) => setSamples(samples.map((x, j) => (j === i ? { ...x, position: e.target.value.toUpperCase() } : x)))} />
                  </td>
                )}
                <td>
                  <button type="button" className="link-button" onClick={() => setSamples(samples.filter((_, j) => j !== i))}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {spec.target && <p>Target box: {box ? <Link href={`/storage/${box.id}`}>{box.path}</Link> : <em>scan a box or plate barcode</em>}</p>}
      {spec.reason && <Field label="Reason" name="reason" value={reason} onChange={setReason} error={submit.fields.reason} />}
      <ProblemBanner error={submit.error} />
      <button type="button" disabled={submit.busy || samples.length === 0 || (spec.target && !box)} onClick={() => void submit.run()}>
        {spec.label} {samples.length} sample{samples.length === 1 ? '' : 's'}
      </button>
      {last && (
        <section className="card" role="status" aria-labelledby="h-done">
          <h2 id="h-done">
            Done: {last.items.length} {last.action}
          </h2>
          <ul className="plain">
            {last.items.map((m) => (
              <li key={m.sample_id}>
                <Link href={`/samples/${m.sample_id}`}>{m.barcode}</Link> {m.to ? `→ ${m.to.path} ${m.to.position}` : ''}
              </li>
            ))}
          </ul>
          {box && <Link href={`/storage/${box.id}`}>Open the box map</Link>}
        </section>
      )}
    </>
  );
}
