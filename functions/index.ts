/**
 * The Function App's entry point (package.json `main`): importing each module registers its
 * functions with the host and records them in the route table.
 */
import './startup.js';
import './http/discovery.js';
import './http/centralized-certificates.js';
import './http/ccs-collection.js';
import './http/coverage.js';
import './http/enrolment.js';
import './http/certificates.js';
import './http/operations.js';
import './http/audit.js';
import './http/rollout.js';
import './http/openapi.js';
import './http/me.js';
import './http/sign-in.js';
import './http/console.js';
import './queue/reports.js';
import './timer/sweep-operations.js';
import './timer/schedule-inventory.js';
import './timer/coverage-telemetry.js';
import './timer/publish-sources.js';
import './eventgrid/certificate-new-version.js';
import './http/sources.js';

export { httpRoutes, queueRoutes, timerRoutes } from './route-table.js';
