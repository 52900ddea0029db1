/** The sign-in form: access key and secret, exchanged for a token; the secret leaves memory with the form. */
import { useState } from 'preact/hooks';
import { ConsoleError, type Session, signIn } from './session.ts';

export function SignIn(props: { notice: string | undefined; onSignedIn: (s: Session) => void }) {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    setBusy(true);
    setError(undefined);
    try {
      const s = await signIn(String(data.get('accessKey') ?? '').trim(), String(data.get('secret') ?? '').trim());
      form.reset();
      props.onSignedIn(s);
    } catch (err) {
      setError(err instanceof ConsoleError ? err.message : 'Sign-in failed.');
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>logwarden console</h1>
      <p>Sign in with an access key of your tenant that can read logs.</p>
      {props.notice && (
        <p class="notice" role="status">
          {props.notice}
        </p>
      )}
      <form onSubmit={submit}>
        <label for="accessKey">Access key</label>
        <input id="accessKey" name="accessKey" autocomplete="username" required spellcheck={false} />
        <label for="secret">Secret</label>
        <input id="secret" name="secret" type="password" autocomplete="current-password" required />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p class="hint">
        The secret is sent once to get a short-lived token, kept only in this tab. No key yet? <code>logwarden keys create --help</code>
      </p>
    </main>
  );
}
