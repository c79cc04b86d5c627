/**
 * The console's shell: sign-in, the header (who is signed in, with which role), and the view the
 * URL names. Focus moves to each new view's heading, so keyboard and screen-reader users know
 * where they are after a navigation.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { CcsView } from './views/ccs.js';
import { FleetView } from './views/fleet.js';
import { OperationView } from './views/operation.js';
import { SignIn } from './views/sign-in.js';
import { hrefOf, useRoute } from './route.js';
import { ENTRA_KEY, entraSettings, resumeTokenSession, type EntraSignIn, type Session } from './session.js';

async function resume(entra: EntraSignIn | null): Promise<Session | null> {
  const byToken = await resumeTokenSession();
  if (byToken || !entra || !sessionStorage.getItem(ENTRA_KEY)) return byToken;
  const { resumeEntraSession } = await import('./entra.js');
  const session = await resumeEntraSession(entra);
  if (session && /[#&](code|state|error)=/.test(location.hash)) location.hash = hrefOf.fleet();
  return session;
}

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [entra, setEntra] = useState<EntraSignIn | null>(null);
  const [starting, setStarting] = useState(true);
  const [startError, setStartError] = useState<string | null>(null);
  const route = useRoute();
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    entraSettings()
      .catch(() => null)
      .then(async (settings) => {
        setEntra(settings);
        setSession(await resume(settings));
      })
      .catch((error: unknown) => setStartError(error instanceof Error ? error.message : String(error)))
      .finally(() => setStarting(false));
  }, []);

  useEffect(() => {
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [route, session]);

  const signOut = async () => {
    await session?.signOut();
    setSession(null);
  };

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={hrefOf.fleet()}>
          CCS fleet console
        </a>
        {session && (
          <div class="who">
            <span>
              Signed in as <strong>{session.caller.name}</strong>{' '}
              <span class={`role role-${session.caller.role}`}>
                {session.caller.can_write ? 'read and write' : 'read only'}
              </span>
            </span>
            <button type="button" class="secondary" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main id="main" ref={main}>
        {starting ? (
          <p aria-busy="true">Loading…</p>
        ) : startError ? (
          <p role="alert" class="error">
            {startError}
          </p>
        ) : !session ? (
          <SignIn entra={entra} onSignedIn={setSession} />
        ) : route.view === 'ccs' ? (
          <CcsView session={session} id={route.id} tab={route.tab} />
        ) : route.view === 'operation' ? (
          <OperationView session={session} id={route.id} />
        ) : (
          <FleetView session={session} />
        )}
      </main>
    </>
  );
}
