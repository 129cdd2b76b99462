/**
 * Training jobs and automation runs: one row per job_id, from REST records and the training /
 * automation channels' events; pure functions. Schedules come from REST only (no events).
 */
import type { Json } from "../lib/api";
import type { EventOf } from "../lib/ws";
import { applyOnce, merge, pushBounded, type Synced } from "./synced";

export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";
const STATUSES: readonly string[] = ["queued", "running", "succeeded", "failed", "cancelled"];
const TERMINAL: readonly JobStatus[] = ["succeeded", "failed", "cancelled"];

export interface Job {
  readonly job_id: string;
  readonly kind: string;
  readonly status: JobStatus;
  /** In [0, 1]. */
  readonly progress: number;
  readonly message?: string;
  readonly instrument_key?: string;
  readonly interval?: string;
  readonly params?: Json;
  /** The latest metrics (training.progress), and their history for the live view. */
  readonly metrics?: Json;
  readonly metricsHistory?: readonly { readonly progress: number; readonly metrics: Json }[];
  readonly stats?: Json;
  readonly result?: Json;
  readonly error?: string;
  /** Event or record time (UTC epoch s) of the start, for ordering. */
  readonly started?: number;
}

export interface JobsState extends Synced {
  readonly jobs: Readonly<Record<string, Job>>;
  readonly schedules: readonly Json[];
}

export const initialJobs: JobsState = { lastId: 0, jobs: {}, schedules: [] };
const MAX_HISTORY = 100;

function upsert(state: JobsState, job: Partial<Job> & { job_id: string }): JobsState {
  const old = state.jobs[job.job_id];
  const base: Job = old ?? { job_id: job.job_id, kind: "", status: "queued", progress: 0 };
  let next = merge(base, job);
  // A finished job stays finished: a late or replayed progress event does not reopen it.
  if (old !== undefined && TERMINAL.includes(old.status) && !TERMINAL.includes(next.status)) {
    next = { ...next, status: old.status, progress: old.progress };
  }
  return { ...state, jobs: { ...state.jobs, [job.job_id]: next } };
}

function applyTraining(state: JobsState, event: EventOf<"training">): JobsState {
  const p = event.payload;
  switch (event.type) {
    case "training.started": {
      const { job_id, kind, instrument_key, interval } = event.payload;
      return upsert(state, { job_id, kind, instrument_key, interval, status: "running", started: event.ts });
    }
    case "training.progress": {
      const { job_id, progress, message, metrics } = event.payload;
      const history = pushBounded(state.jobs[job_id]?.metricsHistory ?? [], { progress, metrics }, MAX_HISTORY);
      return upsert(state, { job_id, progress, message, metrics, metricsHistory: history, status: "running" });
    }
    case "training.succeeded":
      return upsert(state, { job_id: p.job_id, result: event.payload.result, status: "succeeded", progress: 1 });
    case "training.failed":
      return upsert(state, { job_id: p.job_id, result: event.payload.result, error: event.payload.error, status: "failed" });
  }
}

function applyAutomation(state: JobsState, event: EventOf<"automation">): JobsState {
  switch (event.type) {
    case "automation_run.started": {
      const { job_id, kind, params } = event.payload;
      return upsert(state, { job_id, kind, params, status: "running", started: event.ts });
    }
    case "automation_run.updated": {
      const { job_id, progress, message, status, stats, error } = event.payload;
      return upsert(state, { job_id, progress, message, status, stats, error });
    }
  }
}

export function applyTrainingEvent(state: JobsState, event: EventOf<"training">): JobsState {
  return applyOnce(state, event, applyTraining);
}

export function applyAutomationEvent(state: JobsState, event: EventOf<"automation">): JobsState {
  return applyOnce(state, event, applyAutomation);
}

/** A job record as REST shows it (JobRecord.public(): job_id, kind, params, status, progress, ...). */
export function jobFromRest(r: Json): (Partial<Job> & { job_id: string }) | null {
  if (typeof r.job_id !== "string") return null;
  const params = (r.params ?? undefined) as Json | undefined;
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  const obj = (v: unknown) => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined);
  return {
    job_id: r.job_id,
    kind: str(r.kind),
    status: STATUSES.includes(String(r.status)) ? (r.status as JobStatus) : undefined,
    progress: typeof r.progress === "number" ? r.progress : undefined,
    message: str(r.message),
    params,
    instrument_key: str(r.instrument_key) ?? str(params?.instrument_key),
    interval: str(r.interval) ?? str(params?.interval),
    stats: obj(r.stats),
    result: obj(r.result),
    error: str(r.error),
    metrics: obj(r.metrics) ?? obj(obj(r.result)?.metrics),
    started: typeof r.created_ts === "number" ? r.created_ts : undefined,
  };
}

/** Merge REST job records (and schedules, when given) loaded as of event `headId`. */
export function loadJobs(state: JobsState, rest: { jobs: readonly Json[]; schedules?: readonly Json[] }, headId: number): JobsState {
  let next = state;
  for (const raw of rest.jobs) {
    const job = jobFromRest(raw);
    if (job !== null) next = upsert(next, job);
  }
  if (rest.schedules !== undefined) next = { ...next, schedules: rest.schedules };
  return { ...next, lastId: Math.max(next.lastId, headId) };
}

/** Newest first (by start time, then id). */
export function jobList(state: JobsState): Job[] {
  return Object.values(state.jobs).sort((a, b) => (b.started ?? 0) - (a.started ?? 0) || b.job_id.localeCompare(a.job_id));
}
