/** The market source's status in the header ("Upstox: live", "Upstox: token expired"); the error, a warning and the segment in its tooltip. */
import type { MarketStatus } from "../lib/ws.gen";
import { describeStatus } from "../state/market";

export function MarketStatusBadge({ status }: { status: MarketStatus | null }) {
  if (status === null) return null;
  const { label, tone, detail } = describeStatus(status);
  return (
    <span
      className={`market-status market-${tone}`}
      role="status"
      aria-live="polite"
      data-status={status.status}
      title={detail || undefined}
    >
      <span className="dot" aria-hidden="true" />
      {label}
      {detail && <span className="visually-hidden">: {detail}</span>}
    </span>
  );
}
