import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

export interface VirtualRowsProps<T> {
  rows: readonly T[];
  /** Every row's height in pixels (fixed: what makes 100,000 rows cheap). */
  rowHeight: number;
  /** Height of the scrolling area in pixels. */
  height: number;
  renderRow: (row: T, index: number) => ComponentChildren;
  label: string;
  /** Rows drawn beyond the visible ones, above and below. */
  overscan?: number;
}

/**
 * A list that draws only the rows in view: one spacer as tall as all rows, with the visible
 * slice placed at its offset, so scrolling 100,000 rows touches ~40 DOM nodes.
 */
export function VirtualRows<T>({ rows, rowHeight, height, renderRow, label, overscan = 10 }: VirtualRowsProps<T>) {
  const ref = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let frame = 0;
    const on = () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => setTop(el.scrollTop));
    };
    el.addEventListener("scroll", on, { passive: true });
    return () => {
      el.removeEventListener("scroll", on);
      cancelAnimationFrame(frame);
    };
  }, []);
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(rows.length, Math.ceil((top + height) / rowHeight) + overscan);
  const slice = [];
  for (let i = first; i < last; i++) slice.push(renderRow(rows[i]!, i));
  return (
    <div ref={ref} class="virtual" style={{ height: `${height}px` }} role="region" aria-label={label} tabIndex={0}>
      <div style={{ height: `${rows.length * rowHeight}px`, position: "relative" }}>
        <div style={{ position: "absolute", top: `${first * rowHeight}px`, left: 0, right: 0 }}>{slice}</div>
      </div>
    </div>
  );
}
