/**
 * A button whose action needs a second, explicit confirmation: an alert dialog that takes the
 * focus (Cancel first), closes on Escape, and gives the focus back to the button.
 */
import { useEffect, useId, useRef, useState, type ReactNode } from "react";

export interface ConfirmButtonProps {
  readonly label: string;
  /** What will happen, said plainly in the dialog. */
  readonly question: ReactNode;
  readonly confirmLabel: string;
  readonly onConfirm: () => void;
  readonly disabled?: boolean;
  readonly danger?: boolean;
}

export function ConfirmButton({ label, question, confirmLabel, onConfirm, disabled, danger = true }: ConfirmButtonProps) {
  const [open, setOpen] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const titleId = useId();

  useEffect(() => {
    if (open) cancel.current?.focus();
  }, [open]);

  const close = () => {
    setOpen(false);
    trigger.current?.focus();
  };

  return (
    <>
      <button ref={trigger} type="button" className={danger ? "danger" : undefined} disabled={disabled} onClick={() => setOpen(true)}>
        {label}
      </button>
      {open && (
        <div className="backdrop" onClick={close}>
          <div
            role="alertdialog"
            aria-modal="true"
            aria-labelledby={titleId}
            className="dialog"
            onClick={(e) => e.stopPropagation()}
            onKeyDown={(e) => {
              if (e.key === "Escape") close();
            }}
          >
            <h2 id={titleId}>{label}?</h2>
            <div className="dialog-body">{question}</div>
            <div className="actions">
              <button ref={cancel} type="button" onClick={close}>
                Cancel
              </button>
              <button
                type="button"
                className="danger"
                onClick={() => {
                  close();
                  onConfirm();
                }}
              >
                {confirmLabel}
              </button>
            </div>
          </div>
        </div>
      )}
    </>
  );
}
