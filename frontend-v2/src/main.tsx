/** Entry point: one Desk on the page's own origin, the token from this browser's storage. */
import { createRoot } from "react-dom/client";
import { App } from "./app/App";
import { Desk } from "./app/desk";
import { DeskContext } from "./app/hooks";
import "./app/styles.css";

const TOKEN_KEY = "signaldesk.token";

function storedToken(): string | undefined {
  try {
    return window.localStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

const desk = new Desk({
  base: "",
  wsBase: `${window.location.protocol === "https:" ? "wss" : "ws"}://${window.location.host}`,
  token: storedToken(),
  storeToken: (token) => {
    try {
      if (token) window.localStorage.setItem(TOKEN_KEY, token);
      else window.localStorage.removeItem(TOKEN_KEY);
    } catch {
      // private mode: the token lasts for this page only
    }
  },
});

createRoot(document.getElementById("root")!).render(
  <DeskContext.Provider value={desk}>
    <App />
  </DeskContext.Provider>,
);
void desk.start();
window.addEventListener("pagehide", () => desk.stop());
