/**
 * How often one address may ask for what costs the server a stored record before anyone signed in: a registration
 * (kept for good) or a sign-in started at /authorize (kept 10 minutes). Without it, anyone who can reach the server
 * could grow the store without bound (the file store rewrites one file per write). A fixed window per address, in
 * memory, per instance. Behind a proxy every client shares the proxy's address: the limits are generous for a team.
 */
export class AddressLimit {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** 0 when this address may go on (and is counted), else the milliseconds until it may. */
  take(address: string): number {
    const now = this.now();
    if (this.windows.size > 10_000) for (const [key, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(key);
    const window = this.windows.get(address);
    if (!window || now - window.start >= this.windowMs) {
      this.windows.set(address, { start: now, count: 1 });
      return 0;
    }
    if (window.count >= this.max) return window.start + this.windowMs - now;
    window.count += 1;
    return 0;
  }
}
