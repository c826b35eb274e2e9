export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const median = (values) => percentile(values, 50);

/** Requests to read n items with Basecamp's geared pages (15, 30, 50, then 100); an empty list is one request. */
export function gearedPages(n) {
  const sizes = [15, 30, 50];
  let pages = 0;
  for (let read = 0; read < n; pages++) read += sizes[pages] ?? 100;
  return Math.max(1, pages);
}

export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
