// Administration (lab administrators): users and roles, notification channels, webhooks,
// message templates.
import { useState, type ReactNode } from 'react';
import { Link } from 'wouter';
import { api, ok, type Schemas } from '../api/client';
import { ROLE_LABELS, ROLES, type Role } from '../roles';
import { useSession } from '../session';
import { Badge, Empty, Field, Loading, ProblemBanner, useLoad, useSubmit, when } from '../components/ui';

function AdminNav({ children }: { children: ReactNode }) {
  return (
    <>
      <h1>Administration</h1>
      <nav aria-label="Administration" className="subnav">
        <Link href="/admin/users">Users</Link> <Link href="/admin/channels">Channels</Link> <Link href="/admin/webhooks">Webhooks</Link> <Link href="/admin/templates">Templates</Link>
      </nav>
      {children}
    </>
  );
}

export function Users() {
  const { user: me } = useSession();
  const users = useLoad(() => ok(api.GET('/api/users', { params: { query: { limit: 500 } } })), []);
  const [f, setF] = useState({ email: '', name: '', role: 'lab_technician' as Role });
  const invite = useSubmit(async () => {
    await ok(api.POST('/api/users', { body: { email: f.email, name: f.name, role: f.role } }));
    setF({ ...f, email: '', name: '' });
    users.reload();
  });
  const change = useSubmit(async (u: Schemas['UserView'], role: Role) => {
    await ok(api.PATCH('/api/users/{id}', { params: { path: { id: u.id } }, body: { role, version: u.version } }));
    users.reload();
  });
  const toggle = useSubmit(async (u: Schemas['UserView']) => {
    if (u.status === 'disabled') await ok(api.POST('/api/users/{id}/enable', { params: { path: { id: u.id } } }));
    else await ok(api.POST('/api/users/{id}/disable', { params: { path: { id: u.id } } }));
    users.reload();
  });
  return (
    <AdminNav>
      <h2>Users</h2>
      <ProblemBanner error={users.error ?? change.error ?? toggle.error} />
      {users.loading && <Loading what="users" />}
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {users.data?.items.map((u) => (
            <tr key={u.id}>
              <td>{u.name}</td>
              <td>{u.email}</td>
              <td>
                <select aria-label={`Role of ${u.name}`} value={u.role} disabled={u.id === me?.id} onChange={(e) => void change.run(u, e.target.value as Role)}>
                  {ROLES.map((r) => (
                    <option key={r} value={r}>
                      {ROLE_LABELS[r]}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                <Badge value={u.status} />
              </td>
              <td>
                {u.id !== me?.id && (
                  <button type="button" className="secondary" onClick={() => void toggle.run(u)}>
                    {u.status === 'disabled' ? 'Enable' : 'Disable'}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="card inline-form"
        aria-label="Invite a user"
        onSubmit={(e) => {
          e.preventDefault();
          void invite.run();
        }}
        noValidate
      >
        <h2>Invite a user</h2>
        <p className="muted">They receive an invitation email with a link to choose their password.</p>
        <ProblemBanner error={invite.error} />
        <Field label="Email" name="email" type="email" value={f.email} onChange={(v) => setF({ ...f, email: v })} error={invite.fields.email} />
        <Field label="Name" name="name" value={f.name} onChange={(v) => setF({ ...f, name: v })} error={invite.fields.name} />
        <Field label="Role" name="role" error={invite.fields.role}>
          {(id) => (
            <select id={id} value={f.role} onChange={(e) => setF({ ...f, role: e.target.value as Role })}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABELS[r]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" disabled={invite.busy}>
          Invite
        </button>
      </form>
    </AdminNav>
  );
}

export function Channels() {
  const list = useLoad(() => ok(api.GET('/api/notifications/channels')), []);
  const toggle = useSubmit(async (c: Schemas['ChannelView']) => {
    await ok(api.PUT('/api/notifications/channels/{kind}', { params: { path: { kind: c.kind } }, body: { enabled: !c.enabled, settings: c.settings, version: c.configured ? c.version : null } }));
    list.reload();
  });
  return (
    <AdminNav>
      <h2>Channels</h2>
      <ProblemBanner error={list.error ?? toggle.error} />
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Channel</th>
            <th scope="col">Configured</th>
            <th scope="col">Secret</th>
            <th scope="col">Enabled</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((c) => (
            <tr key={c.kind}>
              <td>{c.kind.replace(/_/g, ' ')}</td>
              <td>{c.configured ? 'yes' : 'no'}</td>
              <td>{c.secret_set ? 'stored (write-only)' : '—'}</td>
              <td>
                <button type="button" className="secondary" disabled={!c.configured && c.kind !== 'in_app'} onClick={() => void toggle.run(c)}>
                  {c.enabled ? 'Disable' : 'Enable'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">Relay addresses and secrets are set through PUT /api/notifications/channels/&#123;kind&#125;; secrets go to SSM and are never shown again.</p>
    </AdminNav>
  );
}

export function Webhooks() {
  const list = useLoad(() => ok(api.GET('/api/webhooks')), []);
  const [f, setF] = useState({ url: '', events: 'sample.*' });
  const [secret, setSecret] = useState<string | null>(null);
  const add = useSubmit(async () => {
    const created = await ok(api.POST('/api/webhooks', { body: { url: f.url, event_types: f.events.split(',').map((s) => s.trim()).filter(Boolean) } }));
    setSecret(created.secret);
    list.reload();
  });
  const remove = useSubmit(async (id: string) => {
    await ok(api.DELETE('/api/webhooks/{id}', { params: { path: { id } } }));
    list.reload();
  });
  return (
    <AdminNav>
      <h2>Webhooks</h2>
      <ProblemBanner error={list.error ?? remove.error} />
      {list.data?.items.length === 0 && <Empty>No webhooks. Add one to have events POSTed, signed, to your systems.</Empty>}
      <ul className="plain">
        {list.data?.items.map((w) => (
          <li key={w.id}>
            <code>{w.url}</code> · {w.event_types.join(', ')} · {when(w.created_at)}{' '}
            <button type="button" className="link-button" onClick={() => void remove.run(w.id)}>
              Remove
            </button>
          </li>
        ))}
      </ul>
      {secret && (
        <p className="notice" role="status">
          Signing secret (shown once): <code>{secret}</code>
        </p>
      )}
      <form
        className="card inline-form"
        aria-label="Add a webhook"
        onSubmit={(e) => {
          e.preventDefault();
          void add.run();
        }}
        noValidate
      >
        <ProblemBanner error={add.error} />
        <Field label="URL (https)" name="url" value={f.url} onChange={(v) => setF({ ...f, url: v })} error={add.fields.url} />
        <Field label="Event types (comma separated patterns)" name="event_types" value={f.events} onChange={(v) => setF({ ...f, events: v })} error={add.fields.event_types} />
        <button type="submit" disabled={add.busy}>
          Add webhook
        </button>
      </form>
    </AdminNav>
  );
}

export function Templates() {
  const list = useLoad(() => ok(api.GET('/api/notifications/templates')), []);
  return (
    <AdminNav>
      <h2>Message templates</h2>
      <ProblemBanner error={list.error} />
      {list.loading && <Loading what="templates" />}
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Channel</th>
            <th scope="col">Event</th>
            <th scope="col">Subject</th>
            <th scope="col">Origin</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((t) => (
            <tr key={t.id}>
              <td>{t.channel}</td>
              <td>
                <code>{t.event}</code>
              </td>
              <td>{t.subject ?? ''}</td>
              <td>
                <Badge value={t.origin} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </AdminNav>
  );
}
