/**
 * The agent's version, sent in every hello. A constant rather than a package.json read at run
 * time, because the agent is deployed as a bundle without the repository around it; a unit test
 * keeps it equal to package.json's version.
 */
export const AGENT_VERSION = '0.1.0';
