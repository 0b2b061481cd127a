// Asynchronous actions: each starts `in-progress` and completes (or, by fault, errors) after its
// duration, or, when a fault holds its type, once the hold is lifted. Pending actions are persisted
// with their due time, so a restart finishes them.
import type { Region } from './catalog';
import type { Store } from './store';
import type { Action, ActionEffect } from './state';
import { apiTimestamp } from './timestamps';

export interface StartAction {
  type: string;
  resourceId: number | null;
  resourceType: string;
  region: Region | null;
  effect: ActionEffect;
  durationMs: number;
  lockDropletId?: number;
  fail?: boolean;
  /** When the caller needs it beforehand (a snapshot's created_at is its action's started_at). */
  startedAt?: string;
}

export class ActionEngine {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  /** Due, but held by a fault: they finish when `releaseHeld` finds their type no longer held. */
  private readonly held = new Set<number>();

  constructor(
    private readonly store: Store,
    /** Called when an action ends; `succeeded` is false for an action failed by a fault. */
    private readonly applyEffect: (effect: ActionEffect, succeeded: boolean) => void,
    private readonly isHeld: (type: string) => boolean = () => false,
  ) {}

  start(request: StartAction): Action {
    const state = this.store.state;
    const action: Action = {
      id: this.store.nextId(),
      status: 'in-progress',
      type: request.type,
      started_at: request.startedAt ?? apiTimestamp(),
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
    // The duration as given, not recomputed from dueAt: actions of one duration then end in the
    // order they started, which tests rely on.
    this.schedule(action.id, request.durationMs);
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
    this.held.clear();
  }

  /** Finishes the held actions whose type is no longer held. */
  releaseHeld(): void {
    for (const id of [...this.held]) {
      const action = this.store.state.actions.find((a) => a.id === id);
      if (action && this.isHeld(action.type)) continue;
      this.held.delete(id);
      this.finish(id);
    }
  }

  private schedule(id: number, delayMs?: number): void {
    const pending = this.store.state.internal.pendingActions[id];
    if (!pending) return;
    const timer = setTimeout(() => this.finish(id), delayMs ?? Math.max(0, pending.dueAt - Date.now()));
    timer.unref();
    this.timers.set(id, timer);
  }

  private finish(id: number): void {
    this.timers.delete(id);
    const state = this.store.state;
    const pending = state.internal.pendingActions[id];
    const action = state.actions.find((a) => a.id === id);
    if (action && pending && this.isHeld(action.type)) {
      this.held.add(id);
      return;
    }
    delete state.internal.pendingActions[id];
    if (!pending || !action) return;
    if (pending.lockedDropletId !== undefined) this.setLock(pending.lockedDropletId, false);
    this.applyEffect(pending.effect, !pending.fail);
    action.status = pending.fail ? 'errored' : 'completed';
    action.completed_at = apiTimestamp();
    this.store.changed();
  }

  private setLock(dropletId: number, locked: boolean): void {
    const droplet = this.store.state.droplets.find((d) => d.id === dropletId);
    if (droplet) droplet.locked = locked;
  }
}
