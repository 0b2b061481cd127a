// Asynchronous actions: each starts `in-progress` and completes (or, by fault, errors) after its
// duration. Pending actions are persisted with their due time, so a restart finishes them.
import type { Region } from './catalog';
import type { Store } from './store';
import type { Action, ActionEffect } from './state';

export interface StartAction {
  type: string;
  resourceId: number | null;
  resourceType: string;
  region: Region | null;
  effect: ActionEffect;
  durationMs: number;
  lockDropletId?: number;
  fail?: boolean;
}

export class ActionEngine {
  private readonly timers = new Map<number, NodeJS.Timeout>();

  constructor(
    private readonly store: Store,
    /** Called when an action ends; `succeeded` is false for an action failed by a fault. */
    private readonly applyEffect: (effect: ActionEffect, succeeded: boolean) => void,
  ) {}

  start(request: StartAction): Action {
    const state = this.store.state;
    const action: Action = {
      id: this.store.nextId(),
      status: 'in-progress',
      type: request.type,
      started_at: new Date().toISOString(),
      completed_at: null,
      resource_id: request.resourceId,
      resource_type: request.resourceType,
      region: request.region,
      region_slug: request.region?.slug ?? null,
    };
    state.actions.push(action);
    state.internal.pendingActions[action.id] = {
      dueAt: Date.now() + request.durationMs,
      effect: request.effect,
      fail: request.fail ?? false,
      lockedDropletId: request.lockDropletId,
    };
    if (request.lockDropletId !== undefined) this.setLock(request.lockDropletId, true);
    this.schedule(action.id);
    this.store.changed();
    return action;
  }

  /** After a restart: finish what is overdue, schedule the rest. */
  resume(): void {
    for (const id of Object.keys(this.store.state.internal.pendingActions)) this.schedule(Number(id));
  }

  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(id: number): void {
    const pending = this.store.state.internal.pendingActions[id];
    if (!pending) return;
    const timer = setTimeout(() => this.finish(id), Math.max(0, pending.dueAt - Date.now()));
    timer.unref();
    this.timers.set(id, timer);
  }

  private finish(id: number): void {
    this.timers.delete(id);
    const state = this.store.state;
    const pending = state.internal.pendingActions[id];
    const action = state.actions.find((a) => a.id === id);
    delete state.internal.pendingActions[id];
    if (!pending || !action) return;
    if (pending.lockedDropletId !== undefined) this.setLock(pending.lockedDropletId, false);
    this.applyEffect(pending.effect, !pending.fail);
    action.status = pending.fail ? 'errored' : 'completed';
    action.completed_at = new Date().toISOString();
    this.store.changed();
  }

  private setLock(dropletId: number, locked: boolean): void {
    const droplet = this.store.state.droplets.find((d) => d.id === dropletId);
    if (droplet) droplet.locked = locked;
  }
}
