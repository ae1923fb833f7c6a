// Who is signed in. A reload restores the session from the refresh cookie (with its CSRF
// token); the access token is renewed a minute before it expires; logout ends both.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, ApiError, csrfToken, ok, setAccessToken, toProblem, type Schemas } from './api/client';

type User = Schemas['UserView'];
type Tokens = Schemas['TokenResponse'];

interface Session {
  user: User | null;
  /** True until the first restore attempt has answered. */
  restoring: boolean;
  signIn(email: string, password: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

let renewTimer: ReturnType<typeof setTimeout> | undefined;
let inflight: Promise<Tokens | null> | null = null;

/** One refresh at a time: a second concurrent one would present a rotated token. */
function refreshOnce(): Promise<Tokens | null> {
  inflight ??= (async () => {
    const csrf = csrfToken();
    if (!csrf) return null;
    const { data, response } = await api.POST('/api/auth/refresh', {
      body: {},
      headers: { 'X-CSRF-Token': csrf },
    });
    return response.ok && data ? data : null;
  })().finally(() => {
    inflight = null;
  });
  return inflight;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [restoring, setRestoring] = useState(true);

  const adopt = useCallback((t: Tokens | null) => {
    clearTimeout(renewTimer);
    setAccessToken(t?.access_token ?? null);
    setUser(t?.user ?? null);
    if (t) {
      const inMs = Math.max(10, t.expires_in - 60) * 1000;
      renewTimer = setTimeout(() => void refreshOnce().then(adopt), inMs);
    }
  }, []);

  useEffect(() => {
    void refreshOnce()
      .then(adopt)
      .catch(() => adopt(null))
      .finally(() => setRestoring(false));
  }, [adopt]);

  const signIn = useCallback(
    async (email: string, password: string) => {
      const { data, error, response } = await api.POST('/api/auth/login', {
        body: { email, password, refresh_cookie: true },
      });
      if (!response.ok || !data) throw new ApiError(response.status, toProblem(response.status, error));
      adopt(data);
    },
    [adopt],
  );

  const signOut = useCallback(async () => {
    try {
      await ok(api.POST('/api/auth/logout'));
    } finally {
      adopt(null);
    }
  }, [adopt]);

  return (
    <SessionContext.Provider value={{ user, restoring, signIn, signOut }}>{children}</SessionContext.Provider>
  );
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}
