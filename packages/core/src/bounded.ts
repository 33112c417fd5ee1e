import { EngineError } from './errors';

/**
 * A map that keeps at most `capacity` entries and forgets the oldest first. Eviction is O(1): the
 * insertion order is kept in a ring of keys. (Evicting with `map.keys().next()` looks O(1) but
 * V8 scans every deleted slot at the front of the table, which turns a long run quadratic.)
 */
export class BoundedMap<Key, Value> {
  private readonly map = new Map<Key, Value>();
  private readonly ring: (Key | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!(capacity > 0))
      throw new EngineError('INVALID_ARGUMENT', `capacity must be positive (got ${capacity})`);
    this.ring = new Array(capacity);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: Key): Value | undefined {
    return this.map.get(key);
  }

  has(key: Key): boolean {
    return this.map.has(key);
  }

  set(key: Key, value: Value): this {
    if (!this.map.has(key)) {
      if (this.count === this.capacity) {
        const oldest = this.ring[this.head] as Key;
        this.map.delete(oldest);
        this.ring[this.head] = key;
        this.head = (this.head + 1) % this.capacity;
      } else {
        this.ring[(this.head + this.count) % this.capacity] = key;
        this.count += 1;
      }
    }
    this.map.set(key, value);
    return this;
  }
}

/** A set that keeps at most `capacity` members, forgetting the oldest first (see `BoundedMap`). */
export class BoundedSet<Member> {
  private readonly map: BoundedMap<Member, true>;

  constructor(capacity: number) {
    this.map = new BoundedMap(capacity);
  }

  get size(): number {
    return this.map.size;
  }

  has(member: Member): boolean {
    return this.map.has(member);
  }

  add(member: Member): this {
    this.map.set(member, true);
    return this;
  }
}

/**
 * Per-order state: kept without limit while the order is live, then retired into a bounded window
 * of recent orders, so late or duplicated reports after the end are still recognized. Live orders
 * are never forgotten, however long they rest; memory stays proportional to live orders.
 */
export class RetiringMap<Key, Value> {
  private readonly live = new Map<Key, Value>();
  private readonly recent: BoundedMap<Key, Value>;

  constructor(recentCapacity = 1024) {
    this.recent = new BoundedMap(recentCapacity);
  }

  get liveSize(): number {
    return this.live.size;
  }

  get(key: Key): Value | undefined {
    return this.live.get(key) ?? this.recent.get(key);
  }

  set(key: Key, value: Value): void {
    if (this.recent.has(key)) this.recent.set(key, value);
    else this.live.set(key, value);
  }

  /** Entries still live (not retired). */
  liveEntries(): IterableIterator<[Key, Value]> {
    return this.live.entries();
  }

  /** The key's order is final: move its entry to the recent window. */
  retire(key: Key): void {
    const value = this.live.get(key);
    if (value === undefined) return;
    this.live.delete(key);
    this.recent.set(key, value);
  }
}
