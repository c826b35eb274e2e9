import type { Caller } from './caller.js';
import type { Service } from './service.js';

/**
 * WHICH SERVICE ACTS FOR A CALLER. stdio and named keys: the process's one service (one Basecamp sign-in for
 * everyone). Under `MCP_AUTH=oauth`: each signed-in person's own service (their credentials, their directory
 * cache, their identity in the audit trail), while what Basecamp limits per client (the rate budget) and what the
 * server keeps for everyone (audit trail, plan sealer, snapshots store) stay shared.
 */
export interface ServiceSource {
  /** The service that acts for this caller (the same one for the same caller while it is in use). */
  for(caller: Caller, signal?: AbortSignal): Promise<Service>;
  close(): Promise<void>;
}

/** One service for every caller: stdio, and HTTP with named keys or MCP_HTTP_TOKEN. */
export function singleService(service: Service): ServiceSource {
  return {
    async for() {
      return service;
    },
    close: () => service.close(),
  };
}
