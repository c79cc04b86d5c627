/** Picks the backend named in the configuration. */
import { ConfigError, type AgentConfig } from '../config.js';
import type { Backend } from './backend.js';
import { PowerShellBackend } from './powershell.js';
import { SimulatedBackend } from './simulated.js';

export function createBackend(
  config: Pick<AgentConfig, 'backend' | 'simulated' | 'powershell'>,
  platform: NodeJS.Platform = process.platform,
): Backend {
  switch (config.backend) {
    case 'simulated':
      if (!config.simulated) throw new ConfigError('simulated', 'required when backend is "simulated"');
      return new SimulatedBackend(config.simulated);
    case 'powershell':
      // IIS runs on Windows only: elsewhere PowerShell has no IIS to manage, so an explicit
      // executable is required (the backend's own tests run pwsh on Linux against a stand-in module).
      if (platform !== 'win32' && !config.powershell?.executable) {
        throw new ConfigError(
          'powershell.executable',
          'the "powershell" backend manages IIS on Windows; elsewhere set powershell.executable (tests only)',
        );
      }
      return new PowerShellBackend({
        executable: config.powershell?.executable,
        timeoutSeconds: config.powershell?.timeoutSeconds,
        scriptsDir: config.powershell?.scriptsDir,
        platform,
      });
  }
}
