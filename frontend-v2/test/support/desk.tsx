/** The whole app on a desk whose state a test sets, answering REST with the test's `fetch`. */
import { render } from "@testing-library/react";
import { App } from "../../src/app/App";
import { Desk, type DeskState } from "../../src/app/desk";
import { DeskContext } from "../../src/app/hooks";

export function renderDeskAt(path: string, change: (s: DeskState) => DeskState, fetch: typeof globalThis.fetch): Desk {
  window.history.pushState(null, "", path);
  const desk = new Desk({ fetch, notifyEvery: 0 });
  desk.patch((s) => change({ ...s, auth: "ok" }));
  render(
    <DeskContext.Provider value={desk}>
      <App />
    </DeskContext.Provider>,
  );
  return desk;
}
