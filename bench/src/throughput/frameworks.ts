/**
 * The frameworks of the throughput scenarios (8, 8k, 8f): how the report names each, which of
 * our adapters it measures, and its prom-client-based peer, if one is installed.
 */
import type { AdapterPackage } from '../adapters.js';
import type { Framework, ServerConfig } from './api-server.js';

export interface FrameworkInfo {
  /** As the tables name it: `Express 5`. */
  name: string;
  /** The scenario's id in the report. */
  id: string;
  pkg: AdapterPackage;
  /** The peer's server configuration and name; none for Koa. */
  peer?: { config: ServerConfig; name: string };
  /** The issue whose throughput goals the report checks; none: figures only. */
  goalsIssue?: string;
}

export const FRAMEWORKS: Record<Framework, FrameworkInfo> = {
  express: {
    name: 'Express 5',
    id: '8',
    pkg: '@spectator/express',
    peer: { config: 'prom-bundle', name: 'express-prom-bundle' },
    goalsIssue: 'issue 17',
  },
  koa: { name: 'Koa 3', id: '8k', pkg: '@spectator/koa', goalsIssue: 'issue 17' },
  // Issue 18 sets Fastify's goal on the isolated overhead (scenario 4f); this is context.
  fastify: {
    name: 'Fastify 5',
    id: '8f',
    pkg: '@spectator/fastify',
    peer: { config: 'fastify-metrics', name: 'fastify-metrics' },
  },
};
