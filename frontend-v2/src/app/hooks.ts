/** React glue: the desk's state, the current view from the URL, REST commands with their state. */
import { createContext, useCallback, useContext, useEffect, useState, useSyncExternalStore } from "react";
import { describeDetail, ApiError } from "../lib/api";
import type { Desk, DeskState } from "./desk";

export const DeskContext = createContext<Desk | null>(null);

export function useDeskInstance(): Desk {
  const desk = useContext(DeskContext);
  if (desk === null) throw new Error("useDesk outside <DeskContext.Provider>");
  return desk;
}

/** The desk's state, re-rendered when it changes. */
export function useDesk(): DeskState {
  const desk = useDeskInstance();
  return useSyncExternalStore(desk.subscribe, desk.getState, desk.getState);
}

export const VIEWS = [
  { path: "/predictor", label: "Predictor" },
  { path: "/market", label: "Market" },
  { path: "/trading", label: "Trading" },
  { path: "/performance", label: "Performance" },
  { path: "/training", label: "Training" },
  { path: "/automation", label: "Automation" },
  { path: "/events", label: "Events" },
] as const;
export type ViewPath = (typeof VIEWS)[number]["path"];

function current(): ViewPath {
  const path = window.location.pathname.replace(/\/+$/, "");
  return VIEWS.find((v) => v.path === path)?.path ?? "/predictor";
}

/** The view named by the URL's path; `go` changes it with history.pushState. */
export function useRoute(): [ViewPath, (path: ViewPath) => void] {
  const [path, setPath] = useState<ViewPath>(current);
  useEffect(() => {
    const onPop = () => setPath(current());
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const go = useCallback((next: ViewPath) => {
    if (next !== current()) window.history.pushState(null, "", next);
    setPath(next);
  }, []);
  return [path, go];
}

export interface Command {
  readonly pending: boolean;
  readonly error: string;
  readonly done: string;
  run(action: () => Promise<string | void>): Promise<void>;
}

/** One REST action's state: pending while it runs, then its error or a short result. */
export function useCommand(): Command {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState("");
  const [done, setDone] = useState("");
  const run = useCallback(async (action: () => Promise<string | void>) => {
    setPending(true);
    setError("");
    setDone("");
    try {
      setDone((await action()) ?? "");
    } catch (e) {
      setError(e instanceof ApiError ? `${e.status}: ${describeDetail(e.detail)}` : e instanceof Error ? e.message : String(e));
    } finally {
      setPending(false);
    }
  }, []);
  return { pending, error, done, run };
}
