/** The console's entry point: signs in, then browses one tenant's logs. */
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { Browse } from './browse.tsx';
import { clearSession, EXPIRED_MESSAGE, loadSession, type Session, saveSession } from './session.ts';
import { SignIn } from './sign-in.tsx';
import './console.css';

/** The stored session, or the notice that it expired (its token then goes from storage). */
function openingState(): { session: Session | undefined; notice: string | undefined } {
  const s = loadSession();
  if (!s || s.expiresAt > Date.now()) return { session: s, notice: undefined };
  clearSession();
  return { session: undefined, notice: EXPIRED_MESSAGE };
}

function App() {
  const [opening] = useState(openingState);
  const [session, setSession] = useState<Session | undefined>(opening.session);
  const [notice, setNotice] = useState<string | undefined>(opening.notice);
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
