/** Asks for the API token when the server requires one (SIGNALDESK_API_TOKEN). */
import { useId, useState, type FormEvent } from "react";
import { ErrorAlert } from "../components/ErrorAlert";

export function TokenEntry({ problem, onToken }: { problem: string; onToken: (token: string) => void }) {
  const [token, setToken] = useState("");
  const id = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (token.trim()) onToken(token.trim());
  };
  return (
    <main className="token">
      <form className="panel form" onSubmit={submit} aria-labelledby={`${id}-title`}>
        <h1 id={`${id}-title`}>This desk needs a token</h1>
        <p>
          The server was started with <code>SIGNALDESK_API_TOKEN</code>. Enter that token; it is kept in this browser only.
        </p>
        <label htmlFor={id}>API token</label>
        <input id={id} type="password" autoComplete="current-password" value={token} onChange={(e) => setToken(e.target.value)} autoFocus />
        <ErrorAlert error={problem} />
        <div className="actions">
          <button type="submit" disabled={!token.trim()}>
            Open the desk
          </button>
        </div>
      </form>
    </main>
  );
}
