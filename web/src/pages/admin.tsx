// Administration (lab administrators): users and roles, notification channels, webhooks,
// message templates.
import { useState, type ReactNode } from 'react';
import { Link } from 'wouter';
import { api, ok, type Schemas } from '../api/client';
import { ROLE_LABELS, ROLES, type Role } from '../roles';
import { useSession } from '../session';
import { Badge, Empty, Field, Loading, ProblemBanner, useLoad, useSubmit, when, submitWith } from '../components/ui';

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
        onSubmit={submitWith(invite.run)}
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

type Kind = Schemas['ChannelKind'];
type Settings = Schemas['ChannelSettings'];

/** What each channel asks for; its secret is write-only (SSM) and never shown again. */
const CHANNEL_FIELDS: Record<Kind, { settings: (keyof Settings)[]; secret: string | null }> = {
  email: { settings: ['smtp_host', 'smtp_port', 'smtp_tls', 'smtp_username', 'from', 'rate_per_minute', 'rate_per_hour'], secret: 'SMTP password' },
  sms: { settings: ['url', 'from', 'rate_per_minute', 'rate_per_hour'], secret: 'API token' },
  slack: { settings: ['rate_per_minute', 'rate_per_hour'], secret: 'Incoming webhook URL' },
  teams: { settings: ['rate_per_minute', 'rate_per_hour'], secret: 'Incoming webhook URL' },
  in_app: { settings: [], secret: null },
};
const NUMERIC: (keyof Settings)[] = ['smtp_port', 'rate_per_minute', 'rate_per_hour'];

export function Channels() {
  const list = useLoad(() => ok(api.GET('/api/notifications/channels')), []);
  const [editing, setEditing] = useState<Kind | null>(null);
  const test = useSubmit(async (channel: Kind) => {
    const r = await ok(api.POST('/api/notifications/test', { body: { channel } }));
    if (!r.delivered) throw new Error(`The test message was not delivered${r.error ? `: ${r.error}` : ''}`);
  });
  const current = list.data?.items.find((c) => c.kind === editing);
  return (
    <AdminNav>
      <h2>Channels</h2>
      <ProblemBanner error={list.error ?? test.error} />
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Channel</th>
            <th scope="col">Configured</th>
            <th scope="col">Secret</th>
            <th scope="col">Enabled</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((c) => (
            <tr key={c.kind}>
              <td>{c.kind.replace(/_/g, ' ')}</td>
              <td>{c.configured ? 'yes' : 'no'}</td>
              <td>{c.secret_set ? 'stored (write-only)' : '—'}</td>
              <td>{c.enabled ? 'yes' : 'no'}</td>
              <td className="actions">
                <button type="button" className="secondary" onClick={() => setEditing(c.kind)}>
                  Configure
                </button>
                <button type="button" className="secondary" disabled={!c.enabled} onClick={() => void test.run(c.kind)}>
                  Send a test
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {current && <ChannelForm key={current.kind} channel={current} onSaved={() => (setEditing(null), list.reload())} />}
    </AdminNav>
  );
}

function ChannelForm({ channel, onSaved }: { channel: Schemas['ChannelView']; onSaved: () => void }) {
  const spec = CHANNEL_FIELDS[channel.kind];
  const [enabled, setEnabled] = useState(channel.enabled);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(spec.settings.map((k) => [k, channel.settings[k] == null ? '' : String(channel.settings[k])])),
  );
  const [secret, setSecret] = useState('');
  const save = useSubmit(async () => {
    const settings: Settings = {};
    for (const k of spec.settings) {
      const v = values[k]?.trim();
      if (!v) continue;
      (settings as Record<string, unknown>)[k] = NUMERIC.includes(k) ? Number(v) : v;
    }
    await ok(
      api.PUT('/api/notifications/channels/{kind}', {
        params: { path: { kind: channel.kind } },
        body: { enabled, settings, secret: secret || null, version: channel.configured ? channel.version : null },
      }),
    );
    onSaved();
  });
  return (
    <form
      className="card inline-form"
      aria-label={`Configure ${channel.kind}`}
      onSubmit={submitWith(save.run)}
      noValidate
    >
      <h2>Configure {channel.kind.replace(/_/g, ' ')}</h2>
      <ProblemBanner error={save.error} />
      {spec.settings.map((k) => (
        <Field key={k} label={k.replace(/_/g, ' ')} name={k} value={values[k]} onChange={(v) => setValues({ ...values, [k]: v })} error={save.fields[`settings.${k}`] ?? save.fields[k]} />
      ))}
      {spec.secret && (
        <Field
          label={`${spec.secret}${channel.secret_set ? ' (leave empty to keep the stored one)' : ''}`}
          name="secret"
          type="password"
          autoComplete="new-password"
          value={secret}
          onChange={setSecret}
          error={save.fields.secret}
        />
      )}
      <label className="check">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
      </label>
      <button type="submit" disabled={save.busy}>
        Save
      </button>
    </form>
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
        onSubmit={submitWith(add.run)}
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
  const [picked, setPicked] = useState<Schemas['NotificationTemplate'] | null>(null);
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
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
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
              <td>
                <button type="button" className="secondary" onClick={() => setPicked(t)}>
                  Edit
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {picked && <TemplateEditor key={picked.id} template={picked} onSaved={list.reload} />}
    </AdminNav>
  );
}

/** Edit a template as the lab's own: preview renders the draft, save overrides, revert goes back to the built-in. */
function TemplateEditor({ template, onSaved }: { template: Schemas['NotificationTemplate']; onSaved: () => void }) {
  const [subject, setSubject] = useState(template.subject ?? '');
  const [body, setBody] = useState(template.body);
  const [version, setVersion] = useState<number | null>(null);
  const [preview, setPreview] = useState<Schemas['Preview'] | null>(null);
  const hasSubject = template.channel === 'email' || template.channel === 'in_app';
  const draft = { body, subject: hasSubject ? subject : null };
  const show = useSubmit(async () => setPreview(await ok(api.POST('/api/notifications/templates/{id}/preview', { params: { path: { id: template.id } }, body: draft }))));
  const save = useSubmit(async () => {
    const saved = await ok(api.PUT('/api/notifications/templates/{id}', { params: { path: { id: template.id } }, body: { ...draft, version } }));
    setVersion(saved.version);
    onSaved();
  });
  const revert = useSubmit(async () => {
    await ok(api.DELETE('/api/notifications/templates/{id}', { params: { path: { id: template.id } } }));
    setVersion(null);
    onSaved();
  });
  const error = show.error ?? save.error ?? revert.error;
  return (
    <section className="card" aria-label={`Edit ${template.id}`}>
      <h2>
        <code>{template.id}</code>
      </h2>
      <ProblemBanner error={error} />
      {hasSubject && <Field label="Subject" name="subject" value={subject} onChange={setSubject} error={error?.fieldErrors().subject} />}
      <Field label="Body" name="body" error={error?.fieldErrors().body}>
        {(id, describedBy) => <textarea id={id} rows={8} value={body} aria-describedby={describedBy} onChange={(e) => setBody(e.target.value)} />}
      </Field>
      <p className="actions">
        <button type="button" className="secondary" onClick={() => void show.run()} disabled={show.busy}>
          Preview
        </button>
        <button type="button" onClick={() => void save.run()} disabled={save.busy}>
          Save as the lab's
        </button>
        {template.origin === 'lab' && (
          <button type="button" className="danger" onClick={() => void revert.run()} disabled={revert.busy}>
            Revert to built-in
          </button>
        )}
      </p>
      {preview && (
        <div className="preview" role="status">
          {preview.subject && <strong>{preview.subject}</strong>}
          <pre>{preview.body}</pre>
        </div>
      )}
    </section>
  );
}
