/** Training jobs and automation runs: one row per job_id, progress and metrics, finished stays finished, REST merge. */
import { describe, expect, test } from "vitest";
import {
  applyAutomationEvent,
  applyTrainingEvent,
  initialJobs,
  jobList,
  loadJobs,
} from "../../src/state/jobs";
import { applyAll } from "../../src/state/synced";
import { automation, RELIANCE, training } from "../support/events";

describe("training", () => {
  const events = [
    training(1, "training.started", { job_id: "j1", kind: "ridge", instrument_key: RELIANCE, interval: "1m" }),
    training(2, "training.progress", { job_id: "j1", progress: 0.5, message: "fold 2 of 4", metrics: { val_mae: 0.001 } }),
    training(3, "training.succeeded", { job_id: "j1", result: { model_id: 4 } }),
  ];

  test("started, progress with metrics, succeeded", () => {
    const s = events.reduce(applyTrainingEvent, initialJobs);
    expect(jobList(s)).toEqual([
      expect.objectContaining({ job_id: "j1", kind: "ridge", status: "succeeded", progress: 1, message: "fold 2 of 4", result: { model_id: 4 } }),
    ]);
    expect(s.jobs.j1!.metricsHistory).toEqual([{ progress: 0.5, metrics: { val_mae: 0.001 } }]);
  });

  test("a replayed or late progress event neither duplicates nor reopens a finished job", () => {
    const s = events.reduce(applyTrainingEvent, initialJobs);
    expect(applyTrainingEvent(s, events[1]!)).toBe(s);
    const late = applyTrainingEvent(s, training(9, "training.progress", { job_id: "j1", progress: 0.9, message: "x", metrics: {} }));
    expect(late.jobs.j1!.status).toBe("succeeded");
    expect(late.jobs.j1!.progress).toBe(1);
  });

  test("failed keeps its error", () => {
    const s = applyTrainingEvent(initialJobs, training(1, "training.failed", { job_id: "j2", error: "no candles" }));
    expect(s.jobs.j2).toMatchObject({ status: "failed", error: "no candles" });
  });

  test("REST records (JobRecord.public) merge with events by job_id", () => {
    const loaded = loadJobs(
      initialJobs,
      { jobs: [{ job_id: "j1", kind: "ridge", status: "running", progress: 0.25, params: { instrument_key: RELIANCE, interval: "1m" }, created_ts: 50, message: "fold 1" }] },
      2,
    );
    expect(loaded.jobs.j1).toMatchObject({ status: "running", progress: 0.25, instrument_key: RELIANCE, started: 50 });
    const s = applyAll(loaded, events, applyTrainingEvent); // ids 1 and 2 are covered by the load
    expect(Object.keys(s.jobs)).toEqual(["j1"]);
    expect(s.jobs.j1).toMatchObject({ status: "succeeded", progress: 1, message: "fold 1" });
  });
});

describe("automation", () => {
  test("started then updated; optional fields absent leave what is known", () => {
    const s = [
      automation(1, "automation_run.started", { job_id: "a1", kind: "retrain", params: {} }),
      automation(2, "automation_run.updated", { job_id: "a1", progress: 0.5, message: "2 of 4" }),
      automation(3, "automation_run.updated", { job_id: "a1", status: "succeeded", stats: { trained: 4 } }),
    ].reduce(applyAutomationEvent, initialJobs);
    expect(s.jobs.a1).toMatchObject({ kind: "retrain", progress: 0.5, message: "2 of 4", status: "succeeded", stats: { trained: 4 } });
  });

  test("schedules come with the REST load", () => {
    const s = loadJobs(initialJobs, { jobs: [], schedules: [{ schedule_id: 1, name: "nightly", cron: "30 15 * * 1-5" }] }, 0);
    expect(s.schedules).toHaveLength(1);
  });
});
