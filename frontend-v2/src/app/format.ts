/** Display formats: IST times, basis points for log returns, rupees. */

const IST = new Intl.DateTimeFormat("en-IN", {
  timeZone: "Asia/Kolkata",
  month: "short",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hour12: false,
});
const IST_TIME = new Intl.DateTimeFormat("en-IN", { timeZone: "Asia/Kolkata", hour: "2-digit", minute: "2-digit", hour12: false });

/** UTC epoch seconds as "14 Feb, 09:16" in IST. */
export function istDateTime(ts: number | undefined | null): string {
  return ts === undefined || ts === null ? "–" : IST.format(new Date(ts * 1000));
}

export function istTime(ts: number | undefined | null): string {
  return ts === undefined || ts === null ? "–" : IST_TIME.format(new Date(ts * 1000));
}

/** A log return in basis points, signed: "+4.2 bp". */
export function bp(value: number | undefined | null): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return "–";
  const v = value * 10_000;
  return `${v > 0 ? "+" : ""}${v.toFixed(1)} bp`;
}

export function pct(value: number | undefined | null): string {
  return value === undefined || value === null || !Number.isFinite(value) ? "–" : `${(value * 100).toFixed(1)}%`;
}

const INR = new Intl.NumberFormat("en-IN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function rupees(value: number | undefined | null): string {
  return value === undefined || value === null || !Number.isFinite(value) ? "–" : `₹${INR.format(value)}`;
}

export function signedRupees(value: number | undefined | null): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return "–";
  return `${value > 0 ? "+" : value < 0 ? "−" : ""}₹${INR.format(Math.abs(value))}`;
}

/** A wall-clock event time (UTC epoch s) as local HH:MM:SS. */
export function clock(ts: number): string {
  return new Date(ts * 1000).toLocaleTimeString([], { hour12: false });
}

export function tone(value: number | undefined | null): "up" | "down" | "flat" {
  return value === undefined || value === null || value === 0 ? "flat" : value > 0 ? "up" : "down";
}
