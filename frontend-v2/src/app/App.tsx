/** The desk's shell: header with every stream's connection, the views' navigation, the current view. */
import { AutomationView, TrainingView } from "../views/JobsViews";
import { ConnectionBar } from "../views/ConnectionBar";
import { MarketStatusBadge } from "../views/MarketStatusBadge";
import { EventsView } from "../views/EventsView";
import { MarketView } from "../views/MarketView";
import { PerformanceView } from "../views/PerformanceView";
import { PredictorView } from "../views/PredictorView";
import { TokenEntry } from "../views/TokenEntry";
import { TradingView } from "../views/TradingView";
import { useDesk, useDeskInstance, useRoute, VIEWS, type ViewPath } from "./hooks";

const PAGES: Readonly<Record<ViewPath, () => React.JSX.Element>> = {
  "/predictor": PredictorView,
  "/market": MarketView,
  "/trading": TradingView,
  "/performance": PerformanceView,
  "/training": TrainingView,
  "/automation": AutomationView,
  "/events": EventsView,
};

export function App() {
  const desk = useDeskInstance();
  const state = useDesk();
  const [path, go] = useRoute();

  if (state.auth === "needed") return <TokenEntry problem={state.authProblem} onToken={(token) => void desk.useToken(token)} />;

  const Page = PAGES[path];
  const engine = state.trading.engine;
  return (
    <>
      <a className="skip" href="#main">
        Skip to the view
      </a>
      <header className="top">
        <div className="brand">
          <strong>signaldesk</strong>
          {engine.live_trading_enabled && !engine.safe_mode && (
            <span className="badge badge-live" role="status">
              LIVE TRADING
            </span>
          )}
          <MarketStatusBadge status={state.market.status} />
        </div>
        <ConnectionBar connection={state.connection} />
        <nav aria-label="Views">
          <ul>
            {VIEWS.map((v) => (
              <li key={v.path}>
                <a
                  href={v.path}
                  aria-current={v.path === path ? "page" : undefined}
                  onClick={(e) => {
                    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
                    e.preventDefault();
                    go(v.path);
                  }}
                >
                  {v.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1} data-view={path}>
        <h1 className="visually-hidden">{VIEWS.find((v) => v.path === path)?.label}</h1>
        <Page />
      </main>
    </>
  );
}
