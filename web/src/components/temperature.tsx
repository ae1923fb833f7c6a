// A storage unit's temperature: the chart of its readings with the allowed band and the
// alert periods, what state it is in, and for lab administrators the band and the
// sensor's device token (shown once).
import { useState } from 'react';
import { api, ok, type Schemas } from '../api/client';
import { atLeast } from '../roles';
import { useSession } from '../session';
import { Empty, Field, ProblemBanner, submitWith, useLoad, useSubmit, when } from './ui';

type Series = Schemas['ReadingSeries'];
const RANGES = [
  { label: 'Last 24 hours', hours: 24 },
  { label: 'Last 7 days', hours: 24 * 7 },
  { label: 'Last 30 days', hours: 24 * 30 },
];
const W = 640;
const H = 200;
const PAD = { left: 48, right: 8, top: 8, bottom: 22 };

const STATES: Record<Schemas['Watch']['state'], string> = {
  normal: 'in its band',
  excursion: 'outside its band (within the grace period)',
  alerting: 'in temperature alert',
};

/** The chart's drawing: x by time over the range, y by °C over the readings and band. */
export function chartGeometry(s: Series) {
  const t0 = Date.parse(s.from);
  const t1 = Math.max(Date.parse(s.to), t0 + 1);
  const temps = s.points.flatMap((p) => [p.min_celsius, p.max_celsius]);
  if (s.band) temps.push(s.band.min_celsius, s.band.max_celsius);
  const lo = Math.min(...temps) - 2;
  const hi = Math.max(...temps) + 2;
  const x = (iso: string) => PAD.left + ((Date.parse(iso) - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (c: number) => PAD.top + ((hi - c) / Math.max(hi - lo, 1)) * (H - PAD.top - PAD.bottom);
  const line = s.points.map((p, i) => `${i ? 'L' : 'M'}${x(p.at).toFixed(1)},${y(p.celsius).toFixed(1)}`).join(' ');
  return { x, y, lo, hi, line };
}

export function TemperaturePanel({ unit }: { unit: Schemas['LocationView'] }) {
  const { user } = useSession();
  const admin = user?.platform_operator || atLeast(user?.role, 'lab_administrator');
  const [hours, setHours] = useState(24);
  const series = useLoad(
    () =>
      ok(
        api.GET('/api/storage/locations/{id}/readings', {
          params: { path: { id: unit.id }, query: { from: new Date(Date.now() - hours * 3600_000).toISOString() } },
        }),
      ),
    [unit.id, hours],
  );
  const s = series.data;
  return (
    <section className="card" aria-labelledby="h-temp">
      <h2 id="h-temp">Temperature</h2>
      <ProblemBanner error={series.error} />
      <Field label="Period" name="period">
        {(id) => (
          <select id={id} value={hours} onChange={(e) => setHours(Number(e.target.value))}>
            {RANGES.map((r) => (
              <option key={r.hours} value={r.hours}>
                {r.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      {s && <Summary s={s} />}
      {s && s.points.length === 0 && <Empty>No readings in this period. Give the unit's sensor a device token and let it post its readings.</Empty>}
      {s && s.points.length > 0 && <Chart s={s} />}
      {s && s.alerts.length > 0 && (
        <table className="list" aria-label="Alert periods">
          <thead>
            <tr>
              <th scope="col">Left the band</th>
              <th scope="col">Alert raised</th>
              <th scope="col">Back in the band</th>
              <th scope="col">Worst</th>
            </tr>
          </thead>
          <tbody>
            {s.alerts.map((a) => (
              <tr key={a.since}>
                <td>{when(a.since)}</td>
                <td>{when(a.alerted_at)}</td>
                <td>{a.recovered_at ? when(a.recovered_at) : 'not yet'}</td>
                <td>{a.worst_celsius} °C</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {admin && s && <MonitorSettings key={JSON.stringify(s.band)} unit={unit} band={s.band ?? null} onSaved={series.reload} />}
    </section>
  );
}

function Summary({ s }: { s: Series }) {
  const last = s.points.at(-1);
  return (
    <p data-testid="temperature-summary">
      {last ? <>Latest {last.celsius} °C ({when(last.at)}). </> : null}
      {s.band ? (
        <>
          Allowed {s.band.min_celsius} to {s.band.max_celsius} °C, {s.band.grace_minutes} minutes' grace
          {s.watch ? <>; {STATES[s.watch.state]}</> : null}.
        </>
      ) : (
        'Not monitored yet.'
      )}{' '}
      {s.count} readings, {s.alerts.length} alert period{s.alerts.length === 1 ? '' : 's'}.
    </p>
  );
}

function Chart({ s }: { s: Series }) {
  const g = chartGeometry(s);
  const bottom = H - PAD.bottom;
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Temperature from ${when(s.from)} to ${when(s.to)}`} data-testid="temperature-chart">
      {s.band && (
        <rect
          className="band"
          x={PAD.left}
          width={W - PAD.left - PAD.right}
          y={g.y(s.band.max_celsius)}
          height={Math.max(g.y(s.band.min_celsius) - g.y(s.band.max_celsius), 1)}
        />
      )}
      {s.alerts.map((a) => (
        <rect key={a.since} className="alert-period" x={g.x(a.since)} width={Math.max(g.x(a.recovered_at ?? s.to) - g.x(a.since), 2)} y={PAD.top} height={bottom - PAD.top} />
      ))}
      <path className="reading" d={g.line} />
      <line className="axis" x1={PAD.left} x2={PAD.left} y1={PAD.top} y2={bottom} />
      <line className="axis" x1={PAD.left} x2={W - PAD.right} y1={bottom} y2={bottom} />
      <text x={PAD.left - 4} y={PAD.top + 10} textAnchor="end">
        {g.hi.toFixed(0)}°
      </text>
      <text x={PAD.left - 4} y={bottom} textAnchor="end">
        {g.lo.toFixed(0)}°
      </text>
      <text x={PAD.left} y={H - 6}>
        {when(s.from)}
      </text>
      <text x={W - PAD.right} y={H - 6} textAnchor="end">
        {when(s.to)}
      </text>
    </svg>
  );
}

function MonitorSettings({ unit, band, onSaved }: { unit: Schemas['LocationView']; band: Schemas['Band'] | null; onSaved: () => void }) {
  const [min, setMin] = useState(band ? String(band.min_celsius) : '');
  const [max, setMax] = useState(band ? String(band.max_celsius) : '');
  const [grace, setGrace] = useState(band ? String(band.grace_minutes) : '15');
  const [token, setToken] = useState<string | null>(null);
  const num = (v: string) => (v.trim() === '' ? undefined : Number(v));
  const save = useSubmit(async () => {
    await ok(
      api.PUT('/api/storage/locations/{id}/monitor', {
        params: { path: { id: unit.id } },
        body: { min_celsius: num(min), max_celsius: num(max), grace_minutes: num(grace) },
      }),
    );
    onSaved();
  });
  const issue = useSubmit(async () => {
    const t = await ok(api.POST('/api/storage/locations/{id}/device-token', { params: { path: { id: unit.id } } }));
    setToken(t.token);
    onSaved();
  });
  return (
    <>
      <form className="inline" aria-label="Temperature band" onSubmit={submitWith(() => save.run())}>
        <ProblemBanner error={save.error} />
        <Field label="Lowest °C" name="min_celsius" type="number" value={min} onChange={setMin} error={save.fields.min_celsius} placeholder="zone default" />
        <Field label="Highest °C" name="max_celsius" type="number" value={max} onChange={setMax} error={save.fields.max_celsius} placeholder="zone default" />
        <Field label="Grace (minutes)" name="grace_minutes" type="number" value={grace} onChange={setGrace} error={save.fields.grace_minutes} />
        <button type="submit" disabled={save.busy}>
          Save band
        </button>
      </form>
      <ProblemBanner error={issue.error} />
      <button type="button" className="secondary" disabled={issue.busy} onClick={() => void issue.run()}>
        Issue a device token
      </button>
      {token && (
        <p role="status">
          The sensor's token (shown once; the previous one no longer works): <code data-testid="device-token">{token}</code>
        </p>
      )}
    </>
  );
}
