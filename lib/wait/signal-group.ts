/**
 * One `abort` listener per stop signal, shared by every loop that watches it.
 *
 * Why: Node's EventTarget scans its listener list on every `addEventListener`, so a listener per
 * loop makes starting n loops on one signal O(n²), and trips `MaxListenersExceededWarning`.
 * Members form an intrusive doubly linked list instead: joining and leaving are O(1) and cost two
 * fields on the member, no allocation. Internal.
 */

/** A loop (or other waiter) that wants to hear when its signal aborts. */
export interface SignalMember {
  groupPrev: SignalMember | null;
  groupNext: SignalMember | null;
  /** Called once when the signal aborts while the member is in the group; must not throw. */
  onAbort(): void;
}

class SignalGroup {
  head: SignalMember | null = null;
  readonly listener = (): void => this.abort();

  constructor(readonly signal: AbortSignal) {}

  private abort(): void {
    groups.delete(this.signal);
    let member = this.head;
    this.head = null;
    while (member !== null) {
      const next = member.groupNext;
      member.groupPrev = member.groupNext = null;
      member.onAbort();
      member = next;
    }
  }
}

const groups = new WeakMap<AbortSignal, SignalGroup>();

/** Adds `member` to the group of `signal`, which must not have aborted yet. */
export function watchSignal(signal: AbortSignal, member: SignalMember): void {
  let group = groups.get(signal);
  if (group === undefined) {
    group = new SignalGroup(signal);
    groups.set(signal, group);
    signal.addEventListener('abort', group.listener, { once: true });
  }
  member.groupPrev = null;
  member.groupNext = group.head;
  if (group.head !== null) group.head.groupPrev = member;
  group.head = member;
}

/** Removes `member` from the group of `signal`; the last one out removes the listener. */
export function unwatchSignal(signal: AbortSignal, member: SignalMember): void {
  const group = groups.get(signal);
  if (group === undefined) return;
  if (member.groupPrev !== null) member.groupPrev.groupNext = member.groupNext;
  else if (group.head === member) group.head = member.groupNext;
  else return; // not a member
  if (member.groupNext !== null) member.groupNext.groupPrev = member.groupPrev;
  member.groupPrev = member.groupNext = null;
  if (group.head === null) {
    signal.removeEventListener('abort', group.listener);
    groups.delete(signal);
  }
}
