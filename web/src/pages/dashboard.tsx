// Home: samples by status, storage fill, runs in progress, recent activity. Each panel
// loads what the caller's role may read; the others say why they are empty.
import { Link } from 'wouter';
import { api, ok, type Schemas } from '../api/client';
import { atLeast } from '../roles';
import { useSession } from '../session';
import { appPath } from '../links';
import { Badge, Empty, Loading, ProblemBanner, ProgressBar, useLoad, when } from '../components/ui';

const STATUSES: Schemas['SampleStatus'][] = ['pending', 'validated', 'in_storage', 'in_sequencing', 'completed', 'failed', 'rejected', 'archived'];
/** Pages counted per status before the panel says "more than". */
const COUNT_PAGES = 5;

async function countStatus(status: Schemas['SampleStatus']): Promise<{ n: number; more: boolean }> {
  let n = 0;
  let cursor: string | undefined;
  for (let i = 0; i < COUNT_PAGES; i++) {
    const page = await ok(api.GET('/api/samples', { params: { query: { status, limit: 200, cursor } } }));
    n += page.items.length;
    cursor = page.next_cursor ?? undefined;
    if (!cursor) return { n, more: false };
  }
  return { n, more: true };
}

export function Dashboard() {
  const { user } = useSession();
  const role = user?.role;
  const sci = user?.platform_operator || atLeast(role, 'research_scientist');
  const pi = user?.platform_operator || atLeast(role, 'principal_investigator');
  const counts = useLoad(async () => Promise.all(STATUSES.map(async (s) => [s, await countStatus(s)] as const)), []);
  const capacity = useLoad(async () => (sci ? ok(api.GET('/api/storage/capacity')) : null), [sci]);
  const runs = useLoad(async () => (sci ? ok(api.GET('/api/sequencing/runs', { params: { query: { limit: 50 } } })) : null), [sci]);
  const events = useLoad(async () => (pi ? ok(api.GET('/api/events', { params: { query: { limit: 10 } } })) : null), [pi]);
  const active = runs.data?.items.filter((r) => r.status === 'planned' || r.status === 'loaded' || r.status === 'running') ?? [];
  return (
    <>
      <h1>Home</h1>
      <div className="grid">
        <section className="card" aria-labelledby="h-status">
          <h2 id="h-status">Samples by status</h2>
          <ProblemBanner error={counts.error} />
          {counts.loading ? (
            <Loading what="counts" />
          ) : (
            <table>
              <tbody>
                {counts.data?.map(([s, c]) => (
                  <tr key={s}>
                    <th scope="row">
                      <Link href={`/samples?status=${s}`}>
                        <Badge value={s} />
                      </Link>
                    </th>
                    <td className="num">{c.more ? `${c.n}+` : c.n}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {counts.data?.every(([, c]) => c.n === 0) && (
            <Empty>
              No samples yet. <Link href="/samples/new">Register one</Link> or <Link href="/samples/import">import a manifest</Link>.
            </Empty>
          )}
        </section>
        <section className="card" aria-labelledby="h-storage">
          <h2 id="h-storage">Storage fill</h2>
          {!sci && <Empty>Your role does not see storage.</Empty>}
          <ProblemBanner error={capacity.error} />
          {capacity.data && capacity.data.units.length === 0 && (
            <Empty>
              No storage units yet. <Link href="/storage">Add a freezer</Link>.
            </Empty>
          )}
          {capacity.data?.units.map((u) => (
            <div key={u.id}>
              <Link href={`/storage/${u.id}`}>{u.path}</Link>
              <ProgressBar value={(u.capacity ?? 0) - u.free} max={u.capacity ?? 0} label="positions used" />
            </div>
          ))}
        </section>
        <section className="card" aria-labelledby="h-runs">
          <h2 id="h-runs">Runs in progress</h2>
          {!sci && <Empty>Your role does not see runs.</Empty>}
          <ProblemBanner error={runs.error} />
          {runs.data && active.length === 0 && (
            <Empty>
              No run in progress. <Link href="/sequencing">Plan a run</Link>.
            </Empty>
          )}
          <ul className="plain">
            {active.map((r) => (
              <li key={r.id}>
                <Link href={`/sequencing/runs/${r.id}`}>{r.name}</Link> · {r.instrument} · <Badge value={r.status} />
              </li>
            ))}
          </ul>
        </section>
        <section className="card" aria-labelledby="h-activity">
          <h2 id="h-activity">Recent activity</h2>
          {!pi && <Empty>The lab's activity is for principal investigators and administrators; your own notices are in the <Link href="/inbox">inbox</Link>.</Empty>}
          <ProblemBanner error={events.error} />
          {events.data && events.data.items.length === 0 && <Empty>Nothing has happened yet.</Empty>}
          <ul className="plain">
            {events.data?.items.map((e) => (
              <li key={e.id}>
                <code>{e.type.replace(/^tracseq\./, '')}</code>{' '}
                {appPath(e.subject) ? <Link href={appPath(e.subject) ?? '/'}>{e.subject}</Link> : e.subject} <span className="muted">{when(e.time)}</span>
              </li>
            ))}
          </ul>
        </section>
      </div>
    </>
  );
}
