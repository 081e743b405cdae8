// A token bucket per credential: `perSecond` tokens added each second up to `burst`; a request takes one.
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    /** Beyond this many callers, full (idle) buckets are forgotten first, then the oldest. */
    private readonly maxBuckets = 10_000,
  ) {}

  take(key: string): RateDecision {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.delete(key); // re-inserted below: the map stays in order of last use
    this.evict(now);
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond)) };
  }

  get size(): number {
    return this.buckets.size;
  }

  private evict(now: number): void {
    if (this.buckets.size < this.maxBuckets) return;
    // Down to 90%, so the scan runs once per many new callers, not on every request.
    const target = Math.floor(this.maxBuckets * 0.9);
    for (const [key, b] of this.buckets) {
      if (this.buckets.size <= target) return;
      if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key);
    }
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= target) return;
      this.buckets.delete(key);
    }
  }
}
