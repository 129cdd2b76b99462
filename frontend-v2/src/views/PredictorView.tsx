/** The predictor: start/stop with instruments and cfg, latest and resolved predictions, skill, calibration, evaluation. */
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { LineChart, COLORS, type Line } from "../components/Charts";
import { DataTable } from "../components/DataTable";
import { ErrorAlert } from "../components/ErrorAlert";
import { InstrumentSearch, type Instrument } from "../components/InstrumentSearch";
import { bp, istDateTime, istTime, pct, tone } from "../app/format";
import { useCommand, useDesk, useDeskInstance } from "../app/hooks";
import type { Schemas } from "../lib/api";
import { instrumentName } from "../state/market";
import { PredictorEvaluation } from "./PredictorEvaluation";
import {
  calibrationSeries,
  isHit,
  latestPredictions,
  recentResolved,
  type PredictionState,
} from "../state/prediction";

const MODELS = ["ridge", "ewma", "zero"] as const;

function StartForm({ instruments, interval, running }: { instruments: readonly string[]; interval: string | null; running: boolean }) {
  const desk = useDeskInstance();
  const command = useCommand();
  const [chosen, setChosen] = useState<ReadonlySet<string> | null>(null);
  const [horizons, setHorizons] = useState("1, 5");
  const [model, setModel] = useState<string>("ridge");
  const [halflife, setHalflife] = useState("100");
  const [minHistory, setMinHistory] = useState("3");
  const [note, setNote] = useState("");
  const selected = chosen ?? new Set(instruments);

  const pick = (found: Instrument) => {
    const inFeed = instruments.includes(found.instrument_key);
    if (inFeed) setChosen(new Set([...selected, found.instrument_key]));
    setNote(inFeed ? `${found.trading_symbol} selected` : `${found.trading_symbol} is not in the market feed (SIGNALDESK_MARKET_INSTRUMENTS)`);
  };

  const toggle = (key: string) => {
    const next = new Set(selected);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    setChosen(next);
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const cfg = {
      ...(interval ? { interval } : {}),
      horizons: horizons
        .split(/[\s,]+/)
        .filter(Boolean)
        .map(Number),
      model_kind: model,
      calib_halflife: Number(halflife),
      min_history: Number(minHistory),
    };
    void command.run(async () => {
      await desk.rest.post("/api/predictor/start", { instruments: [...selected], cfg });
      return "started";
    });
  };

  return (
    <form className="panel form" onSubmit={submit} aria-label="Start the predictor">
      <h2>Run</h2>
      <fieldset>
        <legend>Instruments</legend>
        <div className="checks">
          {instruments.length === 0 && <p className="muted">No instruments yet: the market feed has not started.</p>}
          {instruments.map((key) => (
            <label key={key}>
              <input type="checkbox" checked={selected.has(key)} onChange={() => toggle(key)} /> {instrumentName(key)}
            </label>
          ))}
        </div>
        {instruments.length > 0 && <InstrumentSearch label="Search symbol or name" onPick={pick} />}
        <p aria-live="polite" className="muted">
          {note}
        </p>
      </fieldset>
      <div className="fields">
        <label>
          Horizons (bars)
          <input value={horizons} onChange={(e) => setHorizons(e.target.value)} inputMode="numeric" />
        </label>
        <label>
          Model
          <select value={model} onChange={(e) => setModel(e.target.value)}>
            {MODELS.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label>
          Calibration half-life
          <input type="number" min="1" value={halflife} onChange={(e) => setHalflife(e.target.value)} />
        </label>
        <label>
          Min history
          <input type="number" min="1" value={minHistory} onChange={(e) => setMinHistory(e.target.value)} />
        </label>
      </div>
      <div className="actions">
        <button type="submit" disabled={command.pending || running || selected.size === 0}>
          Start predictor
        </button>
        <button
          type="button"
          disabled={command.pending || !running}
          onClick={() =>
            void command.run(async () => {
              await desk.rest.post("/api/predictor/stop");
              return "stopped";
            })
          }
        >
          Stop predictor
        </button>
      </div>
      <ErrorAlert error={command.error} />
    </form>
  );
}

function Status({ state }: { state: PredictionState }) {
  const { predictor, lastCycle } = state;
  const cfg = predictor.cfg;
  return (
    <section className="panel" aria-labelledby="predictor-status">
      <h2 id="predictor-status">Predictor</h2>
      <p>
        <span className={`badge badge-${predictor.state}`} data-testid="predictor-state">
          {predictor.state}
        </span>{" "}
        {predictor.state === "running" && (
          <>
            on {predictor.instruments.map(instrumentName).join(", ")}; model {String(cfg.model_kind ?? "?")}, horizons{" "}
            {Array.isArray(cfg.horizons) ? cfg.horizons.join(", ") : "?"}, interval {String(cfg.interval ?? "?")}
          </>
        )}
      </p>
      {lastCycle && (
        <p className="muted">
          Last cycle at {istDateTime(lastCycle.anchor)}: {lastCycle.created} created, {lastCycle.resolved} resolved.
        </p>
      )}
      {state.errors.length > 0 && (
        <details>
          <summary>{state.errors.length} predictor errors</summary>
          <ul className="errors">
            {state.errors.slice(-10).map((e) => (
              <li key={e.id}>{e.error}</li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function Latest({ state }: { state: PredictionState }) {
  const rows = latestPredictions(state);
  return (
    <section className="panel wide" aria-labelledby="latest-title">
      <h2 id="latest-title">Latest predictions</h2>
      <DataTable
        testId="latest-predictions"
        columns={["Instrument", "Horizon", "Model", "Made at", "Target", "pred_ret", "pred_ret_adj", "calib_bias", "Status"]}
        items={rows}
        empty="No predictions yet."
        row={(r) => (
          <tr key={`${r.instrument_key}|${r.horizon_steps}`} data-prediction-id={r.id}>
            <th scope="row">{instrumentName(r.instrument_key)}</th>
            <td>{r.horizon_steps}</td>
            <td>{r.model_kind ?? "–"}</td>
            <td>{istTime(r.ts_pred)}</td>
            <td>{istTime(r.ts_target)}</td>
            <td className={tone(r.pred_ret)}>{bp(r.pred_ret)}</td>
            <td className={tone(r.pred_ret_adj)}>{bp(r.pred_ret_adj)}</td>
            <td>{bp(r.calib_bias)}</td>
            <td>{r.status}</td>
          </tr>
        )}
      />
    </section>
  );
}

function Resolved({ state }: { state: PredictionState }) {
  const rows = recentResolved(state, 40);
  return (
    <section className="panel wide" aria-labelledby="resolved-title">
      <h2 id="resolved-title">Resolved</h2>
      <DataTable
        testId="resolved-predictions"
        tall
        columns={["#", "Instrument", "Horizon", "Target", "pred_ret_adj", "actual_ret", "error", "Hit"]}
        items={rows}
        empty="Nothing resolved yet."
        row={(r) => {
          const hit = isHit(r.actual_ret ?? 0, r.pred_ret_adj);
          return (
            <tr key={r.id} data-prediction-id={r.id}>
              <td>{r.id}</td>
              <th scope="row">{instrumentName(r.instrument_key)}</th>
              <td>{r.horizon_steps}</td>
              <td>{istTime(r.ts_target)}</td>
              <td className={tone(r.pred_ret_adj)}>{bp(r.pred_ret_adj)}</td>
              <td className={tone(r.actual_ret)}>{bp(r.actual_ret)}</td>
              <td>{bp(r.error)}</td>
              <td>{hit ? <span className="up">hit</span> : <span className="down">miss</span>}</td>
            </tr>
          );
        }}
      />
    </section>
  );
}

function CalibrationPanel({ state }: { state: PredictionState }) {
  const keys = useMemo(() => {
    const seen = new Set<string>();
    for (const r of Object.values(state.rows)) if (r.status === "resolved") seen.add(`${r.instrument_key}|${r.horizon_steps}`);
    return [...seen].sort();
  }, [state.rows]);
  const [picked, setPicked] = useState("");
  const key = keys.includes(picked) ? picked : (keys[0] ?? "");
  const [instrument, horizon] = key ? [key.slice(0, key.lastIndexOf("|")), Number(key.slice(key.lastIndexOf("|") + 1))] : ["", 0];
  const series = useMemo(() => (key ? calibrationSeries(state, instrument, horizon) : []), [state, key, instrument, horizon]);
  const lines: Line[] = useMemo(
    () => [
      { name: "hit rate", color: COLORS.accent, scale: "left", points: series.map((p) => ({ time: p.time, value: p.hitRate })) },
      { name: "bias (bp)", color: COLORS.amber, scale: "right", points: series.map((p) => ({ time: p.time, value: p.bias * 10_000 })) },
    ],
    [series],
  );
  const rows = Object.values(state.calibration).sort(
    (a, b) => a.instrument_key.localeCompare(b.instrument_key) || a.horizon_steps - b.horizon_steps,
  );
  return (
    <section className="panel wide" aria-labelledby="calibration-title">
      <h2 id="calibration-title">Calibration</h2>
      <label>
        Instrument and horizon{" "}
        <select value={key} onChange={(e) => setPicked(e.target.value)} disabled={keys.length === 0}>
          {keys.length === 0 && <option value="">nothing resolved yet</option>}
          {keys.map((k) => {
            const at = k.lastIndexOf("|");
            return (
              <option key={k} value={k}>
                {instrumentName(k.slice(0, at))}, {k.slice(at + 1)} bar(s)
              </option>
            );
          })}
        </select>
      </label>
      <p className="muted">Rolling over the last 50 resolutions: hit rate (left axis) and bias, the mean of actual_ret − pred_ret (right axis, bp).</p>
      <LineChart lines={lines} label={`Rolling hit rate and bias of ${instrumentName(instrument)} at ${horizon} bar(s)`} />
      <DataTable
        testId="calibration"
        caption="Online calibration (exponentially weighted, as the predictor uses it)"
        columns={["Instrument", "Horizon", "Model", "n", "Hit rate", "Bias", "MAE", "RMSE"]}
        items={rows}
        row={(c) => (
          <tr key={`${c.instrument_key}|${c.interval}|${c.horizon_steps}|${c.model_kind}`}>
            <th scope="row">{instrumentName(c.instrument_key)}</th>
            <td>{c.horizon_steps}</td>
            <td>{c.model_kind}</td>
            <td>{c.n}</td>
            <td>{pct(c.hit_rate)}</td>
            <td>{bp(c.bias)}</td>
            <td>{bp(c.mae)}</td>
            <td>{bp(c.rmse)}</td>
          </tr>
        )}
      />
    </section>
  );
}

type Skill = Schemas["SkillOut"];

/** Why a pair trades or not, in a few words (docs/predictor.md, Skill). */
export function skillVerdict(s: Skill): string {
  const p = s.p_value === null ? "" : `p = ${s.p_value.toPrecision(2)}`;
  if (s.state === "skilled") return `tradable: hits beat chance (${p})`;
  if (s.state === "no_skill") return `not tradable: no skill (${p})`;
  return `not tradable: untested (${s.n} resolutions so far)`;
}

const SKILL_REFRESH_MS = 2000;

interface SkillAnswer {
  readonly rows: readonly Skill[];
  readonly skipped: Readonly<Record<string, number>>;
  readonly running: boolean;
}

/** The skill gate's records (GET /api/hft/status: the engine's, the gate's own), re-read after
 * predictor cycles, at most every SKILL_REFRESH_MS. */
function useSkill(anchor: number | undefined): SkillAnswer {
  const desk = useDeskInstance();
  const [answer, setAnswer] = useState<SkillAnswer>({ rows: [], skipped: {}, running: false });
  const last = useRef(0);
  useEffect(() => {
    const now = Date.now();
    if (now - last.current < SKILL_REFRESH_MS) return;
    last.current = now;
    let live = true;
    desk.rest
      .read("/api/hft/status")
      .then((engine) => {
        if (live) setAnswer({ rows: engine.skill ?? [], skipped: engine.skipped ?? {}, running: engine.skill !== undefined });
      })
      .catch(() => {}); // the next cycle asks again; the other panels say when the server is away
    return () => {
      live = false;
    };
  }, [desk, anchor]);
  return answer;
}

function SkillPanel({ state }: { state: PredictionState }) {
  const { rows, skipped, running } = useSkill(state.lastCycle?.anchor);
  const held = (skipped.no_skill ?? 0) + (skipped.skill_untested ?? 0);
  return (
    <section className="panel wide" aria-labelledby="skill-title">
      <h2 id="skill-title">Skill gate</h2>
      <p className="muted">
        A pair trades only when its calibrated hits beat chance by a one-sided binomial test over its latest resolutions
        {running ? "" : "; the trading engine is stopped, so it keeps no records now"}.{held > 0 ? ` Predictions held back so far: ${skipped.no_skill ?? 0} no skill, ${skipped.skill_untested ?? 0} untested.` : ""}
      </p>
      <DataTable
        testId="skill"
        columns={["Instrument", "Horizon", "Model", "Verdict", "Hit rate", "Chance", "n (effective)", "First tradable"]}
        items={rows}
        empty="No resolved predictions yet."
        row={(s) => (
          <tr key={`${s.instrument_key}|${s.interval}|${s.horizon_steps}`} data-skill={s.state}>
            <th scope="row">{instrumentName(s.instrument_key)}</th>
            <td>{s.horizon_steps}</td>
            <td>{s.model_kind ?? "–"}</td>
            <td className={s.state === "skilled" ? "up" : "down"}>{skillVerdict(s)}</td>
            <td>{pct(s.hit_rate)}</td>
            <td>{pct(s.chance_rate)}</td>
            <td>
              {s.n} ({s.n_eff})
            </td>
            <td>{s.first_skilled === null ? "never" : istDateTime(s.first_skilled)}</td>
          </tr>
        )}
      />
    </section>
  );
}

export function PredictorView() {
  const { prediction, market } = useDesk();
  return (
    <div className="grid">
      <Status state={prediction} />
      <StartForm instruments={market.instruments} interval={market.interval} running={prediction.predictor.state === "running"} />
      <Latest state={prediction} />
      <Resolved state={prediction} />
      <SkillPanel state={prediction} />
      <CalibrationPanel state={prediction} />
      <PredictorEvaluation />
    </div>
  );
}
