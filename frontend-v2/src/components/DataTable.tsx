/**
 * A table of items in a scrolling box: a header row of column names, then one row per item; a
 * table with no items says so across every column (or shows only its header, without `empty`).
 */
import type { ReactNode } from "react";

export interface DataTableProps<T> {
  /** The table's `data-testid`. */
  readonly testId: string;
  readonly columns: readonly string[];
  readonly items: readonly T[];
  /** The `<tr>` of one item, keyed by the item's id. */
  readonly row: (item: T) => ReactNode;
  /** What the table says when it has no items. */
  readonly empty?: string;
  readonly caption?: string;
  /** The caption is for screen readers only. */
  readonly captionHidden?: boolean;
  /** A long list: the box scrolls vertically past a fixed height. */
  readonly tall?: boolean;
}

export function DataTable<T>({ testId, columns, items, row, empty, caption, captionHidden = false, tall = false }: DataTableProps<T>) {
  return (
    <div className={tall ? "scroll tall" : "scroll"}>
      <table data-testid={testId}>
        {caption !== undefined && <caption className={captionHidden ? "visually-hidden" : undefined}>{caption}</caption>}
        <thead>
          <tr>
            {columns.map((name) => (
              <th key={name} scope="col">
                {name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {items.length === 0 && empty !== undefined && (
            <tr>
              <td colSpan={columns.length} className="muted">
                {empty}
              </td>
            </tr>
          )}
          {items.map((item) => row(item))}
        </tbody>
      </table>
    </div>
  );
}
