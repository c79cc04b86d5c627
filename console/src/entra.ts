/**
 * Sign-in with Microsoft Entra ID through MSAL for browsers: authorization code + PKCE with a
 * full-page redirect back to the console, tokens cached in sessionStorage. Loaded on demand
 * (a separate chunk), so a console used with access tokens never downloads MSAL. The redirect
 * lands on the console itself, which hands the response to `handleRedirectPromise`; no popup or
 * hidden iframe is used (so no bridge page and no third-party frame), and a token that cannot be
 * renewed silently is renewed by another redirect.
 */
import {
  createStandardPublicClientApplication,
  InteractionRequiredAuthError,
  type AccountInfo,
  type IPublicClientApplication,
} from '@azure/msal-browser';
import { clientWithToken, ENTRA_KEY, whoAmI, type EntraSignIn, type Session } from './session.js';

const REDIRECT_PATH = '/api/console/';

async function application(settings: EntraSignIn): Promise<IPublicClientApplication> {
  return createStandardPublicClientApplication({
    auth: {
      clientId: settings.console_client_id ?? '',
      authority: settings.authority,
      redirectUri: `${location.origin}${REDIRECT_PATH}`,
      postLogoutRedirectUri: `${location.origin}${REDIRECT_PATH}`,
    },
    cache: { cacheLocation: 'sessionStorage' },
  });
}

/** Leaves for the Entra sign-in page; the console resumes with `resumeEntraSession` on return. */
export async function startEntraSignIn(settings: EntraSignIn): Promise<void> {
  sessionStorage.setItem(ENTRA_KEY, '1');
  const msal = await application(settings);
  await msal.loginRedirect({ scopes: settings.scopes });
}

/** After the redirect back (or a reload): the Entra session, or null when there is none. */
export async function resumeEntraSession(settings: EntraSignIn): Promise<Session | null> {
  const msal = await application(settings);
  const result = await msal.handleRedirectPromise();
  const account: AccountInfo | null = result?.account ?? msal.getAllAccounts()[0] ?? null;
  if (!account) {
    sessionStorage.removeItem(ENTRA_KEY);
    return null;
  }
  msal.setActiveAccount(account);
  const token = async (): Promise<string> => {
    try {
      return (await msal.acquireTokenSilent({ scopes: settings.scopes, account })).accessToken;
    } catch (error) {
      if (error instanceof InteractionRequiredAuthError) {
        await msal.acquireTokenRedirect({ scopes: settings.scopes, account });
      }
      throw error;
    }
  };
  const client = clientWithToken(token);
  return {
    method: 'entra',
    caller: await whoAmI(client),
    client,
    signOut: async () => {
      sessionStorage.removeItem(ENTRA_KEY);
      await msal.logoutRedirect({ account });
    },
  };
}
