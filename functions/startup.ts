/**
 * The Functions host runs this once per instance, before the first invocation: configuration
 * is parsed and the services are built here, so a bad setting is reported at start, once, by
 * name (functions/app-context.ts `startApp`).
 */
import { app } from '@azure/functions';
import { startApp, stderrLog } from './app-context.js';
import { insideFunctionsHost } from './route-table.js';

// Outside the Functions host (the local stack, tests) whoever hosts the handlers starts the app
// itself; calling app.* there would only print the library's test-mode warning.
if (insideFunctionsHost) {
  app.hook.appStart(() => {
    startApp(process.env, stderrLog);
  });
}
