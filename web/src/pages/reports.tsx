// Reports: what a lab manager asks every week, drawn from the pre-aggregated counters as a
// chart (bars per period, lines for occupancy and turnaround, bars per status), the same
// rows as a table, and the report as CSV or XLSX.
import { useMemo, useState } from 'react';
import { api, ok, type Schemas } from '../api/client';
import { dimsLabel, periodsBetween, seriesOf, type Chartable } from '../components/series';
import { Empty, Field, Loading, ProblemBanner, useLoad } from '../components/ui';
import { TableDownload } from '../components/exports';

const REPORTS = [
  { name: 'received', label: 'Samples received', value: 'count' },
  { name: 'status', label: 'Samples by status now', value: 'count' },
  { name: 'turnaround', label: 'Turnaround, received to sequencing (median hours)', value: 'median_hours' },
  { name: 'occupancy', label: 'Storage occupancy by unit', value: 'count' },
  { name: 'runs', label: 'Sequencing runs', value: 'count' },
  { name: 'qc', label: 'QC verdicts by platform', value: 'count' },
  { name: 'imports', label: 'Imports', value: 'count' },
] as const;
type Group = 'day' | 'week' | 'month';

function isoDay(d: Date) {
  return d.toISOString().slice(0, 10);
}

export function Reports() {
  const [name, setName] = useState<(typeof REPORTS)[number]['name']>('received');
  const [to, setTo] = useState(isoDay(new Date()));
  const [from, setFrom] = useState(isoDay(new Date(Date.now() - 29 * 86_400_000)));
  const [group, setGroup] = useState<Group>('day');
  const spec = REPORTS.find((r) => r.name === name) ?? REPORTS[0];
  const effectiveGroup: Group = name === 'turnaround' ? 'month' : group;
  const report = useLoad(
    () => ok(api.GET('/api/reports/{name}', { params: { path: { name }, query: { from, to, group: effectiveGroup } } })) as Promise<Schemas['ReportView']>,
    [name, from, to, effectiveGroup],
  );
  // Occupancy rows name units by id: show their names.
  const units = useLoad(async () => (name === 'occupancy' ? ok(api.GET('/api/storage/capacity')) : null), [name]);
  const unitNames = useMemo(() => new Map((units.data?.units ?? []).map((u) => [u.id, u.name])), [units.data]);
  const label = (dims: Record<string, string>) => (dims.unit ? (unitNames.get(dims.unit) ?? dims.unit) : dimsLabel(dims));
  const chart = useMemo(
    () =>
      report.data
        ? seriesOf(report.data.rows, spec.value, label, 5, report.data.from && report.data.to ? periodsBetween(report.data.from, report.data.to, effectiveGroup) : undefined)
        : null,
    [report.data, spec.value, unitNames, effectiveGroup],
  );
  const query = new URLSearchParams({ from, to, group: effectiveGroup });
  return (
    <>
      <h1>Reports</h1>
      <form className="inline" aria-label="Choose a report" onSubmit={(e) => e.preventDefault()}>
        <Field label="Report" name="report">
          {(id) => (
            <select id={id} value={name} onChange={(e) => setName(e.target.value as typeof name)}>
              {REPORTS.map((r) => (
                <option key={r.name} value={r.name}>
                  {r.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        {name !== 'status' && (
          <>
            <Field label="From" name="from" type="date" value={from} onChange={setFrom} error={report.error?.fieldErrors().from} />
            <Field label="To" name="to" type="date" value={to} onChange={setTo} error={report.error?.fieldErrors().to} />
            <Field label="Group by" name="group">
              {(id) => (
                <select id={id} value={effectiveGroup} disabled={name === 'turnaround'} onChange={(e) => setGroup(e.target.value as Group)}>
                  <option value="day">day</option>
                  <option value="week">week</option>
                  <option value="month">month</option>
                </select>
              )}
            </Field>
          </>
        )}
      </form>
      <ProblemBanner error={report.error} />
      {report.loading && !report.data && <Loading what="the report" />}
      {report.data && report.data.rows.length === 0 && <Empty>Nothing counted in this period yet.</Empty>}
      {report.data && report.data.rows.length > 0 && chart && (
        <section className="card" aria-labelledby="h-chart">
          <h2 id="h-chart">{spec.label}</h2>
          {name === 'status' ? <StatusBars rows={report.data.rows} /> : <TimeChart chart={chart} lines={name === 'occupancy' || name === 'turnaround'} title={spec.label} />}
          <TableDownload path={`/api/reports/${name}?${query}`} name={`${name}-${from}-${to}`} label="Download this report" />
          <ReportTable view={report.data} label={label} />
        </section>
      )}
    </>
  );
}

const W = 720;
const H = 240;
const PAD = { left: 44, right: 8, top: 8, bottom: 24 };

function TimeChart({ chart, lines, title }: { chart: Chartable; lines: boolean; title: string }) {
  const n = chart.periods.length;
  const stacks = chart.periods.map((_, i) => chart.series.reduce((sum, s) => sum + Math.max(s.values[i], 0), 0));
  const peaks = lines ? chart.series.flatMap((s) => s.values) : stacks;
  const top = Math.max(...peaks, 1);
  const slot = (W - PAD.left - PAD.right) / Math.max(n, 1);
  const y = (v: number) => PAD.top + (1 - v / top) * (H - PAD.top - PAD.bottom);
  const bottom = H - PAD.bottom;
  return (
    <>
      <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}, ${n} periods; the table below has every value`} data-testid="report-chart">
        {lines
          ? chart.series.map((s, k) => (
              <polyline key={s.label} className={`series-${k % 6}`} points={s.values.map((v, i) => `${(PAD.left + slot * (i + 0.5)).toFixed(1)},${y(v).toFixed(1)}`).join(' ')} />
            ))
          : chart.periods.map((p, i) => {
              let base = 0;
              return chart.series.map((s, k) => {
                const v = Math.max(s.values[i], 0);
                const rect = <rect key={`${p}-${s.label}`} className={`series-${k % 6}`} x={PAD.left + slot * i + slot * 0.1} width={slot * 0.8} y={y(base + v)} height={bottom - y(v)} />;
                base += v;
                return rect;
              });
            })}
        <line className="axis" x1={PAD.left} x2={PAD.left} y1={PAD.top} y2={bottom} />
        <line className="axis" x1={PAD.left} x2={W - PAD.right} y1={bottom} y2={bottom} />
        <text x={PAD.left - 4} y={PAD.top + 10} textAnchor="end">
          {top}
        </text>
        <text x={PAD.left - 4} y={bottom} textAnchor="end">
          0
        </text>
        <text x={PAD.left} y={H - 6}>
          {chart.periods[0]}
        </text>
        <text x={W - PAD.right} y={H - 6} textAnchor="end">
          {chart.periods[n - 1]}
        </text>
      </svg>
      <ul className="series-key" aria-label="Series">
        {chart.series.map((s, k) => (
          <li key={s.label}>
            <svg width="12" height="12" aria-hidden="true" className="chart" style={{ display: 'inline', margin: 0, width: 12 }}>
              <rect className={`series-${k % 6}`} width="12" height="12" />
            </svg>{' '}
            {s.label}
          </li>
        ))}
      </ul>
    </>
  );
}

function StatusBars({ rows }: { rows: Schemas['ReportRow'][] }) {
  const top = Math.max(...rows.map((r) => r.values.count ?? 0), 1);
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${rows.length * 26 + 8}`} role="img" aria-label="Samples by status now; the table below has every value" data-testid="report-chart">
      {rows.map((r, i) => (
        <g key={r.dims.status}>
          <text x={150} y={i * 26 + 20} textAnchor="end">
            {(r.dims.status ?? '').replace(/_/g, ' ')}
          </text>
          <rect className="series-0" x={158} y={i * 26 + 6} height={18} width={((W - 220) * (r.values.count ?? 0)) / top} />
          <text x={162 + ((W - 220) * (r.values.count ?? 0)) / top} y={i * 26 + 20}>
            {r.values.count}
          </text>
        </g>
      ))}
    </svg>
  );
}

function ReportTable({ view, label }: { view: Schemas['ReportView']; label: (dims: Record<string, string>) => string }) {
  const values = [...new Set(view.rows.flatMap((r) => Object.keys(r.values)))].sort();
  return (
    <table className="list" aria-label="Report rows">
      <thead>
        <tr>
          {view.name !== 'status' && <th scope="col">Period</th>}
          <th scope="col">Of</th>
          {values.map((v) => (
            <th scope="col" key={v}>
              {v.replace(/_/g, ' ')}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {view.rows.map((r, i) => (
          <tr key={i}>
            {view.name !== 'status' && <td>{r.period}</td>}
            <td>{label(r.dims)}</td>
            {values.map((v) => (
              <td key={v}>{r.values[v] ?? ''}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
