// What `tether attach` decides about sizes without a terminal: what it sends, and when it is letterboxed.

export interface Size {
  cols: number;
  rows: number;
}

/** The sizes the relay takes (cols 10..1000, rows 4..500): a terminal outside them sends the nearest. */
export const viewerSize = (cols: number, rows: number): Size => ({
  cols: Math.min(1_000, Math.max(10, Math.floor(cols))),
  rows: Math.min(500, Math.max(4, Math.floor(rows))),
});

/** Whether `remote` shows whole in `local`. */
export const fitsIn = (remote: Size, local: Size) => remote.cols <= local.cols && remote.rows <= local.rows;
