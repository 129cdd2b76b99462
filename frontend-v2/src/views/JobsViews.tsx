/** Training jobs and automation runs: progress, live metrics, results and errors; start one; schedules. */
import { useEffect, useState, type FormEvent } from "react";
import { istDateTime, clock } from "../app/format";
import { useCommand, useDesk, useDeskInstance } from "../app/hooks";
import { DataTable } from "../components/DataTable";
import { ErrorAlert } from "../components/ErrorAlert";
import { InstrumentSearch, type Instrument } from "../components/InstrumentSearch";
import type { Json } from "../lib/api";
import { jobList, type Job } from "../state/jobs";
import { instrumentName } from "../state/market";

function scalar(v: unknown): string | undefined {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  if (typeof v === "boolean") return String(v);
  if (typeof v === "string") return v.length > 60 ? `${v.slice(0, 57)}…` : v;
  if (v === null) return "null";
  return undefined;
}

/** The scalar fields of an object in one line; nested ones behind a disclosure. */
function Summary({ label, value }: { label: string; value: Json }) {
  const entries = Object.entries(value);
  const flat = entries.flatMap(([k, v]) => {
    const text = scalar(v);
    return text === undefined ? [] : [`${k}: ${text}`];
  });
  const nested = entries.length - flat.length;
  return (
    <div className="summary">
      <span className="muted">{label}</span> {flat.join(", ")}
      {nested > 0 && (
        <details>
          <summary>
            {nested} more field{nested > 1 ? "s" : ""}
          </summary>
          <pre>{JSON.stringify(value, null, 1)}</pre>
        </details>
      )}
    </div>
  );
}

function JobTable({ jobs, label, testId }: { jobs: readonly Job[]; label: string; testId: string }) {
  return (
    <DataTable
      testId={testId}
      caption={label}
      captionHidden
      tall
      columns={["Job", "Kind", "Status", "Progress", "Details"]}
      items={jobs}
      empty="None yet."
      row={(job) => (
        <tr key={job.job_id} data-job-id={job.job_id}>
          <th scope="row">
            <code>{job.job_id}</code>
            {job.started !== undefined && <div className="muted">{clock(job.started)}</div>}
          </th>
          <td>
            {job.kind}
            {job.instrument_key && <div className="muted">{instrumentName(job.instrument_key)}</div>}
          </td>
          <td>
            <span className={`badge badge-${job.status}`}>{job.status}</span>
          </td>
          <td>
            <progress max={1} value={job.progress} aria-label={`Progress of ${job.job_id}`} />{" "}
            <span className="muted">{Math.round(job.progress * 100)}%</span>
          </td>
          <td className="details">
            {job.message && <div>{job.message}</div>}
            {job.metrics && <Summary label="metrics" value={job.metrics} />}
            {job.stats && <Summary label="stats" value={job.stats} />}
            {job.result && <Summary label="result" value={job.result} />}
            {job.error && <div className="error">{job.error}</div>}
          </td>
        </tr>
      )}
    />
  );
}

function StartJob({ path, kinds, withInstrument, instruments }: { path: string; kinds: readonly string[]; withInstrument: boolean; instruments: readonly string[] }) {
  const desk = useDeskInstance();
  const command = useCommand();
  const [kind, setKind] = useState(kinds[0]!);
  const [instrument, setInstrument] = useState("");
  const [picked, setPicked] = useState<Instrument | null>(null); // found in the instrument master
  const [params, setParams] = useState("{}");
  const options = picked && !instruments.includes(picked.instrument_key) ? [...instruments, picked.instrument_key] : instruments;
  const key = options.includes(instrument) ? instrument : (options[0] ?? "");
  const pick = (found: Instrument) => {
    setPicked(found);
    setInstrument(found.instrument_key);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void command.run(async () => {
      let extra: Json;
      try {
        extra = JSON.parse(params || "{}") as Json;
      } catch {
        throw new Error("params must be a JSON object");
      }
      const body = { kind, params: withInstrument ? { instrument_key: key, ...extra } : extra };
      const job = await desk.rest.post(path, body);
      return `queued ${String(job.job_id ?? "")}`;
    });
  };
  return (
    <form className="form" onSubmit={submit} aria-label={`Start a ${withInstrument ? "training job" : "run"}`}>
      <div className="fields">
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value)}>
            {kinds.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        {withInstrument && (
          <label>
            Instrument
            <select value={key} onChange={(e) => setInstrument(e.target.value)}>
              {options.map((k) => (
                <option key={k} value={k}>
                  {k === picked?.instrument_key ? picked.trading_symbol : instrumentName(k)}
                </option>
              ))}
            </select>
          </label>
        )}
        {withInstrument && <InstrumentSearch label="Search symbol or name" onPick={pick} />}
        <label className="grow">
          Params (JSON)
          <input value={params} onChange={(e) => setParams(e.target.value)} spellCheck={false} />
        </label>
      </div>
      <div className="actions">
        <button type="submit" disabled={command.pending}>
          {withInstrument ? "Start training" : "Start run"}
        </button>
        <span aria-live="polite" className="muted">
          {command.done}
        </span>
      </div>
      <ErrorAlert error={command.error} />
    </form>
  );
}

export function TrainingView() {
  const { training, market } = useDesk();
  return (
    <div className="grid">
      <section className="panel wide" aria-labelledby="train-title">
        <h2 id="train-title">Train a model</h2>
        <StartJob path="/api/training/jobs" kinds={["ridge", "lgbm"]} withInstrument instruments={market.instruments} />
      </section>
      <section className="panel wide" aria-labelledby="jobs-title">
        <h2 id="jobs-title">Training jobs</h2>
        <JobTable jobs={jobList(training)} label="Training jobs" testId="training-jobs" />
      </section>
    </div>
  );
}

function ScheduleRow({ schedule }: { schedule: Json }) {
  const desk = useDeskInstance();
  const command = useCommand();
  const [cron, setCron] = useState(String(schedule.cron ?? ""));
  // Shown at once; the reloaded schedule (or an error) settles it.
  const [enabled, setEnabled] = useState(schedule.enabled === true);
  useEffect(() => setEnabled(schedule.enabled === true), [schedule.enabled]);
  const id = Number(schedule.schedule_id);
  const save = (changes: Json) =>
    void command.run(async () => {
      try {
        await desk.rest.send("PATCH", `/api/automation/schedules/${id}`, changes);
      } catch (error) {
        if (typeof changes.enabled === "boolean") setEnabled(!changes.enabled); // refused: back as it was
        throw error;
      }
      await desk.refreshSchedules();
      return "saved";
    });
  return (
    <tr data-schedule-id={id}>
      <th scope="row">{String(schedule.name ?? id)}</th>
      <td>{String(schedule.kind ?? "")}</td>
      <td>
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault();
            save({ cron });
          }}
        >
          <label>
            <span className="visually-hidden">Cron of {String(schedule.name ?? id)}</span>
            <input value={cron} onChange={(e) => setCron(e.target.value)} size={14} spellCheck={false} />
          </label>
          <button type="submit" disabled={command.pending || cron === schedule.cron}>
            Save
          </button>
        </form>
        <div className="muted">{String(schedule.timezone ?? "")}</div>
      </td>
      <td>
        <label>
          <input
            type="checkbox"
            checked={enabled}
            disabled={command.pending}
            onChange={(e) => {
              setEnabled(e.target.checked);
              save({ enabled: e.target.checked });
            }}
          />{" "}
          enabled
        </label>
      </td>
      <td>{typeof schedule.next_ts === "number" ? istDateTime(schedule.next_ts) : "–"}</td>
      <td>
        {schedule.last_error ? <span className="error">{String(schedule.last_error)}</span> : <code>{String(schedule.last_job_id ?? "–")}</code>}
        {command.error && (
          <div role="alert" className="error">
            {command.error}
          </div>
        )}
      </td>
    </tr>
  );
}

const AUTOMATION_KINDS = ["retrain", "evaluate", "backfill", "prune", "square_off"] as const;

export function AutomationView() {
  const { automation } = useDesk();
  return (
    <div className="grid">
      <section className="panel wide" aria-labelledby="runs-title">
        <h2 id="runs-title">Automation runs</h2>
        <StartJob path="/api/automation/runs" kinds={AUTOMATION_KINDS} withInstrument={false} instruments={[]} />
        <JobTable jobs={jobList(automation)} label="Automation runs" testId="automation-runs" />
      </section>
      <section className="panel wide" aria-labelledby="schedules-title">
        <h2 id="schedules-title">Schedules</h2>
        <DataTable
          testId="schedules"
          columns={["Name", "Kind", "Cron", "Enabled", "Next", "Last"]}
          items={automation.schedules}
          empty="No schedules."
          row={(s) => <ScheduleRow key={String(s.schedule_id)} schedule={s} />}
        />
      </section>
    </div>
  );
}
