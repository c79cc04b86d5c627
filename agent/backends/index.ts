/** Picks the backend named in the configuration. */
import { ConfigError, type AgentConfig } from '../config.js';
import type { Backend } from './backend.js';
import { SimulatedBackend } from './simulated.js';

export function createBackend(config: Pick<AgentConfig, 'backend' | 'simulated'>): Backend {
  switch (config.backend) {
    case 'simulated':
      if (!config.simulated) throw new ConfigError('simulated', 'required when backend is "simulated"');
      return new SimulatedBackend(config.simulated);
    case 'powershell':
      // Accepted so Windows configurations can be written now; the backend lands in a later issue.
      throw new ConfigError(
        'backend',
        'the "powershell" backend is not available yet in this version of the agent',
      );
  }
}
