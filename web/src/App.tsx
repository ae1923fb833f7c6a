// Screens and the navigation: each entry shows only to the roles its API routes allow.
import { Link, Redirect, Route, Switch, useLocation } from 'wouter';
import { atLeast, ROLE_LABELS, type Role } from './roles';
import { useSession } from './session';
import { Loading } from './components/ui';
import { SignIn, Forgot, SetPassword } from './pages/account';
import { Dashboard } from './pages/dashboard';
import { SampleList, SampleDetail, RegisterSample, ImportSamples } from './pages/samples';
import { StorageTree, LocationScreen, ScanDesk } from './pages/storage';
import { Sequencing, RunDetail } from './pages/sequencing';
import { Submissions, SubmissionDetail, Documents, DocumentDetail } from './pages/submissions';
import { Inbox } from './pages/inbox';
import { Reports } from './pages/reports';
import { Users, Channels, Webhooks, Templates } from './pages/admin';

interface NavItem {
  href: string;
  label: string;
  role: Role;
}

export const NAV: NavItem[] = [
  { href: '/', label: 'Home', role: 'guest' },
  { href: '/samples', label: 'Samples', role: 'guest' },
  { href: '/storage', label: 'Storage', role: 'research_scientist' },
  { href: '/scan', label: 'Scan', role: 'lab_technician' },
  { href: '/sequencing', label: 'Sequencing', role: 'research_scientist' },
  { href: '/submissions', label: 'Submissions', role: 'research_scientist' },
  { href: '/documents', label: 'Documents', role: 'research_scientist' },
  { href: '/reports', label: 'Reports', role: 'principal_investigator' },
  { href: '/inbox', label: 'Inbox', role: 'guest' },
  { href: '/admin/users', label: 'Administration', role: 'lab_administrator' },
];

const PUBLIC = ['/sign-in', '/forgot-password', '/reset-password', '/accept-invitation'];

export function App() {
  const { user, restoring, signOut } = useSession();
  const [location] = useLocation();
  if (restoring) return <Loading what="your session" />;
  if (!user) {
    return (
      <main className="public">
        <Switch>
          <Route path="/forgot-password" component={Forgot} />
          <Route path="/reset-password">{() => <SetPassword purpose="reset" />}</Route>
          <Route path="/accept-invitation">{() => <SetPassword purpose="invitation" />}</Route>
          <Route path="/sign-in" component={SignIn} />
          <Route>{() => <Redirect to={`/sign-in?next=${encodeURIComponent(location)}`} />}</Route>
        </Switch>
      </main>
    );
  }
  if (PUBLIC.includes(location)) return <Redirect to="/" />;
  const allowed = (role: Role) => user.platform_operator || atLeast(user.role, role);
  return (
    <div className="shell">
      <a className="skip" href="#content">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">TracSeq</span>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => allowed(n.role)).map((n) => (
              <li key={n.href}>
                <Link
                  href={n.href}
                  className={(active: boolean) => (active || (n.href !== '/' && location.startsWith(n.href)) ? 'active' : '')}
                >
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who">
          {user.name} · {ROLE_LABELS[user.role]}
        </span>
        <button type="button" className="link-button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <main id="content" tabIndex={-1}>
        <Switch>
          <Route path="/" component={Dashboard} />
          <Route path="/samples" component={SampleList} />
          <Route path="/samples/new">{() => (allowed('lab_technician') ? <RegisterSample /> : <Forbidden />)}</Route>
          <Route path="/samples/import">{() => (allowed('lab_technician') ? <ImportSamples /> : <Forbidden />)}</Route>
          <Route path="/samples/:id">{(p) => <SampleDetail id={p.id} />}</Route>
          <Route path="/storage">{() => (allowed('research_scientist') ? <StorageTree /> : <Forbidden />)}</Route>
          <Route path="/storage/:id">{(p) => (allowed('research_scientist') ? <LocationScreen id={p.id} /> : <Forbidden />)}</Route>
          <Route path="/scan">{() => (allowed('lab_technician') ? <ScanDesk /> : <Forbidden />)}</Route>
          <Route path="/sequencing">{() => (allowed('research_scientist') ? <Sequencing /> : <Forbidden />)}</Route>
          <Route path="/sequencing/runs/:id">{(p) => (allowed('research_scientist') ? <RunDetail id={p.id} /> : <Forbidden />)}</Route>
          <Route path="/submissions">{() => (allowed('research_scientist') ? <Submissions /> : <Forbidden />)}</Route>
          <Route path="/submissions/:id">{(p) => (allowed('research_scientist') ? <SubmissionDetail id={p.id} /> : <Forbidden />)}</Route>
          <Route path="/documents">{() => (allowed('research_scientist') ? <Documents /> : <Forbidden />)}</Route>
          <Route path="/documents/:id">{(p) => (allowed('research_scientist') ? <DocumentDetail id={p.id} /> : <Forbidden />)}</Route>
          <Route path="/reports">{() => (allowed('principal_investigator') ? <Reports /> : <Forbidden />)}</Route>
          <Route path="/inbox" component={Inbox} />
          <Route path="/admin/users">{() => (allowed('lab_administrator') ? <Users /> : <Forbidden />)}</Route>
          <Route path="/admin/channels">{() => (allowed('lab_administrator') ? <Channels /> : <Forbidden />)}</Route>
          <Route path="/admin/webhooks">{() => (allowed('lab_administrator') ? <Webhooks /> : <Forbidden />)}</Route>
          <Route path="/admin/templates">{() => (allowed('lab_administrator') ? <Templates /> : <Forbidden />)}</Route>
          <Route>
            <h1>Not found</h1>
            <p>
              This page does not exist. <Link href="/">Go home</Link>.
            </p>
          </Route>
        </Switch>
      </main>
    </div>
  );
}

function Forbidden() {
  return (
    <>
      <h1>Not for your role</h1>
      <p>Your role cannot open this screen. Ask a lab administrator if you need it.</p>
    </>
  );
}
