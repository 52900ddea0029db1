/** The console's entry point: signs in, then browses one tenant's logs. */
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { Browse } from './browse.tsx';
import { clearSession, loadSession, type Session, saveSession } from './session.ts';
import { SignIn } from './sign-in.tsx';
import './console.css';

function App() {
  const [session, setSession] = useState<Session | undefined>(() => {
    const s = loadSession();
    return s && s.expiresAt > Date.now() ? s : undefined;
  });
  const [notice, setNotice] = useState<string | undefined>(() =>
    loadSession() && !(loadSession()!.expiresAt > Date.now()) ? 'Your session has expired. Sign in again to go on.' : undefined,
  );
  const signOut = (message?: string) => {
    clearSession();
    setSession(undefined);
    setNotice(message);
  };
  if (!session) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(s) => {
          saveSession(s);
          setNotice(undefined);
          setSession(s);
        }}
      />
    );
  }
  return <Browse session={session} onSignOut={signOut} />;
}

render(<App />, document.getElementById('app')!);
