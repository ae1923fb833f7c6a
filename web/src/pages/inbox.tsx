// The caller's in-app notifications, unread first to act on.
import { useState } from 'react';
import { Link } from 'wouter';
import { api, ok } from '../api/client';
import { appPath } from '../links';
import { Badge, Empty, Loading, ProblemBanner, useLoad, useSubmit, when } from '../components/ui';

export function Inbox() {
  const [unread, setUnread] = useState(false);
  const list = useLoad(() => ok(api.GET('/api/notifications', { params: { query: { unread: unread ? 'true' : undefined, limit: 100 } } })), [unread]);
  const read = useSubmit(async (id: string) => {
    await ok(api.POST('/api/notifications/{id}/read', { params: { path: { id } } }));
    list.reload();
  });
  return (
    <>
      <h1>Inbox</h1>
      <label className="check">
        <input type="checkbox" checked={unread} onChange={(e) => setUnread(e.target.checked)} /> Unread only
      </label>
      <ProblemBanner error={list.error ?? read.error} />
      {list.loading && <Loading what="notifications" />}
      {list.data?.items.length === 0 && <Empty>Nothing here. Notices about your samples, imports and runs arrive here.</Empty>}
      <ul className="inbox">
        {list.data?.items.map((m) => (
          <li key={m.id} className={m.read_at ? 'read' : 'unread'}>
            <h2>
              {m.title} {m.priority !== 'normal' && <Badge value={m.priority} />}
            </h2>
            <p>{m.body}</p>
            {appPath(m.link) && (
              <Link href={appPath(m.link) ?? '/'}>
                Open<span className="sr-only"> {m.title}</span>
              </Link>
            )}
            <p className="muted">
              {when(m.created_at)} · <code>{m.event_type}</code>
            </p>
            {!m.read_at && (
              <button type="button" className="secondary" onClick={() => void read.run(m.id)}>
                Mark read
              </button>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}
