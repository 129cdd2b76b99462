/** The live record's forecast evaluation (GET /api/predictor/evaluation), over an optional window. */
import { useState, type FormEvent } from "react";
import { DataTable } from "../components/DataTable";
import { ErrorAlert } from "../components/ErrorAlert";
import { bp, pct } from "../app/format";
import { useCommand, useDeskInstance } from "../app/hooks";
import type { Answer, Schemas } from "../lib/api";

type Evaluation = Schemas["Evaluation"];

/** A number to `digits` significant digits; "–" when the server could not compute it. */
function num(value: number | null, digits = 3): string {
  return value === null ? "–" : Number(value.toPrecision(digits)).toString();
}

/** A datetime-local value read as IST, as epoch seconds; undefined when empty. */
function istEpoch(local: string): number | undefined {
  return local ? Math.floor(Date.parse(`${local}:00+05:30`) / 1000) : undefined;
}

const key = (e: Evaluation) => `${e.interval}|${e.model_kind}|${e.horizon_steps}`;

export function PredictorEvaluation() {
  const desk = useDeskInstance();
  const command = useCommand();
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [answer, setAnswer] = useState<Answer<"/api/predictor/evaluation"> | null>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void command.run(async () => {
      setAnswer(await desk.rest.read("/api/predictor/evaluation", { from: istEpoch(from), to: istEpoch(to) }));
    });
  };

  const rows = answer?.evaluations ?? [];
  return (
    <section className="panel wide" aria-labelledby="evaluation-title">
      <h2 id="evaluation-title">Forecast evaluation</h2>
      <form className="fields" onSubmit={submit} aria-label="Evaluate the live record">
        <label>
          From (IST)
          <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To (IST)
          <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <button type="submit" disabled={command.pending}>
          Evaluate
        </button>
      </form>
      <ErrorAlert error={command.error} />
      <p className="muted">
        Resolved predictions per model and horizon (docs/predictor.md): IC and Rank IC across instruments per anchor, Diebold-Mariano
        against predicting 0 (negative: better; p two-sided), MAE relative to the zero and persistence forecasts, and the top-minus-bottom
        quintile return{answer ? `, net of ${bp(2 * answer.round_trip_cost)} round trips` : ""}.
      </p>
      <DataTable
        testId="evaluation"
        columns={["Model", "Horizon", "n", "IC", "IC/IR", "Rank IC", "Pooled IC", "DM sq (p)", "DM abs (p)", "MASE zero", "MASE persist", "L-S gross", "L-S net"]}
        items={rows}
        empty={answer ? "Nothing resolved in that window." : "Not evaluated yet."}
        row={(e) => (
          <tr key={key(e)}>
            <th scope="row">
              {e.model_kind} <span className="muted">{e.interval}</span>
            </th>
            <td>{e.horizon_steps}</td>
            <td>{e.n}</td>
            <td>{num(e.ic_mean)}</td>
            <td>{num(e.ic_ir)}</td>
            <td>{num(e.rank_ic_mean)}</td>
            <td>{num(e.pooled_ic)}</td>
            <td>
              {num(e.dm_sq_stat)} ({num(e.dm_sq_p, 2)})
            </td>
            <td>
              {num(e.dm_abs_stat)} ({num(e.dm_abs_p, 2)})
            </td>
            <td>{num(e.mase_zero)}</td>
            <td>{num(e.mase_persistence)}</td>
            <td>{bp(e.long_short_gross)}</td>
            <td>{bp(e.long_short_net)}</td>
          </tr>
        )}
      />
      <DataTable
        testId="reliability"
        caption="Reliability: hit rate and mean actual_ret by decile of pred_ret_adj (1: lowest)"
        columns={["Model", "Horizon", ...Array.from({ length: 10 }, (_, i) => String(i + 1))]}
        items={rows.filter((e) => e.deciles.length > 0)}
        row={(e) => (
          <tr key={key(e)}>
            <th scope="row">{e.model_kind}</th>
            <td>{e.horizon_steps}</td>
            {e.deciles.map((d) => (
              <td key={d.decile} title={`n ${d.n}, mean pred_ret_adj ${bp(d.mean_pred)}`}>
                {pct(d.hit_rate)} {bp(d.mean_actual)}
              </td>
            ))}
          </tr>
        )}
      />
    </section>
  );
}
