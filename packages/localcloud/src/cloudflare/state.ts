// What the local cloud knows of its Cloudflare account, kept in the shape the API returns (the
// official library's response types) and saved with the rest of the cloud's state.
import { randomBytes } from 'node:crypto';
import type { Zone } from 'cloudflare/resources/zones/zones';
import type { LoadBalancer } from 'cloudflare/resources/load-balancers/load-balancers';
import type { Monitor } from 'cloudflare/resources/load-balancers/monitors/monitors';
import type { Pool } from 'cloudflare/resources/load-balancers/pools/pools';
import type { RecordResponse } from 'cloudflare/resources/dns/records';
import type { CloudState } from '../state';
import type { Store } from '../store';

/** The record types the local cloud serves (the ones a web stack points at its sites). */
export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];
export type DnsRecord = Extract<RecordResponse, { type: RecordType }>;

type WithId<T> = T & { id: string };
export type StoredMonitor = WithId<Monitor>;
export type StoredPool = WithId<Pool> & { name: string; origins: NonNullable<Pool['origins']> };
export type StoredLoadBalancer = WithId<LoadBalancer> & { name: string; default_pools: string[]; fallback_pool: string };

export interface CloudflareState {
  account: { id: string; name: string; created_on: string };
  zones: Zone[];
  records: { zoneId: string; record: DnsRecord }[];
  monitors: StoredMonitor[];
  pools: StoredPool[];
  loadBalancers: { zoneId: string; loadBalancer: StoredLoadBalancer }[];
}

/** Cloudflare's identifiers: 32 hex digits. */
export const cloudflareId = () => randomBytes(16).toString('hex');

function emptyCloudflareState(): CloudflareState {
  return {
    account: { id: cloudflareId(), name: 'Local Cloudflare account', created_on: new Date().toISOString() },
    zones: [],
    records: [],
    monitors: [],
    pools: [],
    loadBalancers: [],
  };
}

/**
 * The Cloudflare part of the cloud's state, made on first use. It rides in the same state file
 * (so it is saved, survives restarts and goes with a reset) under a key of its own.
 */
export function cloudflareState(store: Store): CloudflareState {
  const state = store.state as CloudState & { cloudflare?: CloudflareState };
  if (!state.cloudflare) {
    state.cloudflare = emptyCloudflareState();
    store.changed();
  }
  return state.cloudflare;
}
