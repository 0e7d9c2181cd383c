// Formatting of durations, timestamps and counts for display. Pure functions, no DOM, so the
// same text appears in the waterfall, the search list, the charts and the tests.

const NS_PER_US = 1e3;
const NS_PER_MS = 1e6;
const NS_PER_S = 1e9;

/** Trims a fixed-point number to at most `digits` significant decimals, dropping zeros. */
function trimmed(value, digits) {
  let text = value.toFixed(digits);
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '');
  return text;
}

/** Decimals that keep about three significant figures for a value in [1, 1000). */
function decimalsFor(value) {
  if (value >= 100) return 0;
  if (value >= 10) return 1;
  return 2;
}

/**
 * A duration in nanoseconds as short text: `850ns`, `12.5µs`, `3.27ms`, `1.5s`, `2m 5s`,
 * `1h 2m`. Three significant figures below a minute.
 */
export function formatDuration(ns) {
  if (!Number.isFinite(ns)) return '–';
  const sign = ns < 0 ? '-' : '';
  const v = Math.abs(ns);
  if (v < NS_PER_US) return `${sign}${Math.round(v)}ns`;
  if (v < NS_PER_MS) return sign + unit(v / NS_PER_US, 'µs', NS_PER_MS / NS_PER_US, 'ms');
  if (v < NS_PER_S) return sign + unit(v / NS_PER_MS, 'ms', NS_PER_S / NS_PER_MS, 's');
  if (v < 60 * NS_PER_S) return sign + unit(v / NS_PER_S, 's', 60, null);
  const totalSeconds = Math.round(v / NS_PER_S);
  if (totalSeconds < 3600) {
    const m = Math.floor(totalSeconds / 60);
    const s = totalSeconds % 60;
    return `${sign}${m}m${s ? ` ${s}s` : ''}`;
  }
  const totalMinutes = Math.round(totalSeconds / 60);
  const h = Math.floor(totalMinutes / 60);
  const m = totalMinutes % 60;
  return `${sign}${h}h${m ? ` ${m}m` : ''}`;
}

// Rounding 999.7µs to three figures gives "1000µs"; show it in the next unit instead.
function unit(value, name, limit, nextName) {
  const digits = decimalsFor(value);
  const rounded = Number(value.toFixed(digits));
  if (nextName && rounded >= limit) return `${trimmed(rounded / limit, 2)}${nextName}`;
  return `${trimmed(value, digits)}${name}`;
}

/** A duration in milliseconds (as the statistics API gives them) as short text. */
export function formatMillis(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  return formatDuration(ms * NS_PER_MS);
}

const pad2 = (n) => String(n).padStart(2, '0');
const pad3 = (n) => String(n).padStart(3, '0');

/** An epoch time in milliseconds as local `YYYY-MM-DD HH:MM:SS.mmm`. */
export function formatTimestamp(epochMs) {
  if (!Number.isFinite(epochMs)) return '–';
  const d = new Date(epochMs);
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${pad3(d.getMilliseconds())}`
  );
}

/** An epoch time in milliseconds as local `HH:MM:SS`, for axes. */
export function formatClock(epochMs, withSeconds = true) {
  const d = new Date(epochMs);
  const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  return withSeconds ? `${hm}:${pad2(d.getSeconds())}` : hm;
}

/** How long ago `epochMs` was, relative to `nowMs`: `just now`, `5s ago`, `3m ago`, `2h ago`, `4d ago`. */
export function formatAgo(epochMs, nowMs = Date.now()) {
  const seconds = Math.round((nowMs - epochMs) / 1000);
  if (seconds < 2) return 'just now';
  if (seconds < 60) return `${seconds}s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ago`;
  return `${Math.floor(hours / 24)}d ago`;
}

/** An integer with thin thousands separators: `100,000`. */
export function formatCount(n) {
  if (!Number.isFinite(n)) return '–';
  return Math.round(n).toLocaleString('en-US');
}

/** A fraction 0..1 as a percentage with up to two decimals: `0.5%`, `12%`. */
export function formatPercent(fraction) {
  if (!Number.isFinite(fraction)) return '–';
  const pct = fraction * 100;
  if (pct === 0) return '0%';
  if (pct < 0.01) return '<0.01%';
  return `${trimmed(pct, pct < 10 ? 2 : 1)}%`;
}

/** A rate per second: `12.5/s`, `0.02/s`, or per minute when tiny: `0.3/min`. */
export function formatRate(perSecond) {
  if (!Number.isFinite(perSecond)) return '–';
  if (perSecond === 0) return '0/s';
  if (perSecond < 0.01) return `${trimmed(perSecond * 60, 2)}/min`;
  return `${trimmed(perSecond, perSecond < 10 ? 2 : 1)}/s`;
}

/**
 * A duration in nanoseconds as a Go/Jaeger duration parameter (`150ms`, `1.5s`, `250us`),
 * the form the search API accepts; whole units where exact.
 */
export function toGoDuration(ns) {
  if (!Number.isFinite(ns) || ns <= 0) return '0s';
  if (ns % NS_PER_S === 0) return `${ns / NS_PER_S}s`;
  if (ns >= NS_PER_S) return `${trimmed(ns / NS_PER_S, 3)}s`;
  if (ns % NS_PER_MS === 0 || ns >= NS_PER_MS) return `${trimmed(ns / NS_PER_MS, 3)}ms`;
  if (ns >= NS_PER_US) return `${trimmed(ns / NS_PER_US, 3)}us`;
  return `${Math.round(ns)}ns`;
}

const GO_UNITS = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9, d: 86400e9 };

/**
 * Parses a Go-style duration (`1.5s`, `100ms`, `1h30m`, `250us`, also `2d`) into nanoseconds;
 * null when it is not one. A bare number has no unit and is rejected, as the server would.
 */
export function parseGoDuration(text) {
  const s = String(text ?? '').trim();
  if (!s) return null;
  const re = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/gy;
  let total = 0;
  let pos = 0;
  let m;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * GO_UNITS[m[2]];
    pos = re.lastIndex;
  }
  return pos === s.length && pos > 0 ? total : null;
}
