#!/usr/bin/env node
// `ccs`, the fleet's command line (cli/main.ts), run through tsx from the project's dependencies.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
