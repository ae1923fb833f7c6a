// Sign in, forgotten password, and setting a password from a reset or invitation link.
import { useState, type FormEvent } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { api, ok } from '../api/client';
import { useSession } from '../session';
import { Field, ProblemBanner, useSubmit, submitWith } from '../components/ui';

export function SignIn() {
  const { signIn } = useSession();
  const search = useSearch();
  const [, navigate] = useLocation();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const submit = useSubmit(async () => {
    await signIn(email, password);
    const next = new URLSearchParams(search).get('next');
    navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/');
  });
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit.run();
  };
  return (
    <section className="card narrow">
      <h1>Sign in to TracSeq</h1>
      <form onSubmit={onSubmit} noValidate>
        <ProblemBanner error={submit.error} />
        <Field label="Email" name="email" type="email" autoComplete="username" value={email} onChange={setEmail} error={submit.fields.email} required autoFocus />
        <Field label="Password" name="password" type="password" autoComplete="current-password" value={password} onChange={setPassword} error={submit.fields.password} required />
        <button type="submit" disabled={submit.busy}>
          {submit.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p>
        <Link href="/forgot-password">Forgot your password?</Link>
      </p>
    </section>
  );
}

export function Forgot() {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const submit = useSubmit(async () => {
    await ok(api.POST('/api/auth/password/forgot', { body: { email } }));
    setSent(true);
  });
  return (
    <section className="card narrow">
      <h1>Forgotten password</h1>
      {sent ? (
        <p role="status">If an account uses that address, a reset link is on its way. It works for an hour.</p>
      ) : (
        <form
          onSubmit={submitWith(submit.run)}
          noValidate
        >
          <ProblemBanner error={submit.error} />
          <Field label="Email" name="email" type="email" autoComplete="username" value={email} onChange={setEmail} error={submit.fields.email} required autoFocus />
          <button type="submit" disabled={submit.busy}>
            Send a reset link
          </button>
        </form>
      )}
      <p>
        <Link href="/sign-in">Back to sign in</Link>
      </p>
    </section>
  );
}

/** The reset and the invitation links both carry a single-use token. */
export function SetPassword({ purpose }: { purpose: 'reset' | 'invitation' }) {
  const token = new URLSearchParams(useSearch()).get('token') ?? '';
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [done, setDone] = useState(false);
  const [mismatch, setMismatch] = useState(false);
  const submit = useSubmit(async () => {
    await ok(api.POST('/api/auth/password/reset', { body: { token, new_password: password } }));
    setDone(true);
  });
  const title = purpose === 'invitation' ? 'Welcome to TracSeq: choose your password' : 'Choose a new password';
  return (
    <section className="card narrow">
      <h1>{title}</h1>
      {!token && <p className="problem">This link has no token. Open the link from your email again.</p>}
      {done ? (
        <p role="status">
          Your password is set. <Link href="/sign-in">Sign in</Link>.
        </p>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setMismatch(password !== again);
            if (password === again) void submit.run();
          }}
          noValidate
        >
          <ProblemBanner error={submit.error} />
          <Field label="New password" name="new_password" type="password" autoComplete="new-password" value={password} onChange={setPassword} error={submit.fields.new_password} required />
          <Field label="New password again" name="again" type="password" autoComplete="new-password" value={again} onChange={setAgain} error={mismatch ? 'The two passwords differ' : undefined} required />
          <button type="submit" disabled={submit.busy || !token}>
            Set password
          </button>
        </form>
      )}
    </section>
  );
}
