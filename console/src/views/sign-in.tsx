/**
 * Sign-in: paste an access token once (checked with GET /api/me, kept in sessionStorage for this
 * tab only), or — when the API accepts Entra ID tokens and names the console's app registration —
 * sign in with Microsoft.
 */
import { useState } from 'preact/hooks';
import { signInWithToken, type EntraSignIn, type Session } from '../session.js';
import { ErrorMessage } from './error-message.js';

export function SignIn(props: { entra: EntraSignIn | null; onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await signInWithToken(token.trim()));
    } catch (reason) {
      setError(reason);
    } finally {
      setBusy(false);
    }
  };

  const withEntra = async () => {
    if (!props.entra) return;
    setBusy(true);
    const { startEntraSignIn } = await import('../entra.js');
    await startEntraSignIn(props.entra).catch((reason: unknown) => {
      setError(reason);
      setBusy(false);
    });
  };

  return (
    <section class="sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title" tabIndex={-1}>
        Sign in
      </h1>
      <p>
        The console uses the API's own access rules: a read token sees the fleet, a write token can change it.
      </p>
      {props.entra && (
        <p>
          <button type="button" onClick={() => void withEntra()} disabled={busy}>
            Sign in with Microsoft
          </button>
        </p>
      )}
      <form onSubmit={(e) => void submit(e)}>
        <label for="token">Access token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-describedby="token-help"
        />
        <p id="token-help" class="help">
          Kept for this browser tab only (sessionStorage); never put in a URL. Locally:{' '}
          <code>accessToken</code> or <code>readOnlyToken</code> in <code>.local/stack.json</code>.
        </p>
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in with the token
        </button>
      </form>
      {error !== null && <ErrorMessage error={error} />}
    </section>
  );
}
