// A page of a document cut into plain and cited pieces, so every quoted passage can be
// marked where it was read.

export interface Cite {
  /** Which field or sample row the passage gave a value to. */
  label: string;
  offset: number;
  quote: string;
}

export interface Piece {
  text: string;
  /** The labels of the citations this piece is, or none for plain text. */
  labels: string[];
  /** The piece's start in the page (for anchors). */
  at: number;
}

/**
 * Cuts `page` at its citations. A citation's offset counts characters; where the quote is
 * not exactly there (characters outside the BMP count twice in JavaScript), the nearest
 * occurrence after a little before it is used, and a quote not found is left out.
 */
export function pieces(page: string, cites: Cite[]): Piece[] {
  const spans: { start: number; end: number; label: string }[] = [];
  for (const c of cites) {
    const quote = c.quote.trim();
    if (!quote) continue;
    let start = page.startsWith(quote, c.offset) ? c.offset : page.indexOf(quote, Math.max(0, c.offset - 64));
    if (start < 0) start = page.indexOf(quote);
    if (start < 0) continue;
    spans.push({ start, end: start + quote.length, label: c.label });
  }
  const cuts = new Set<number>([0, page.length]);
  for (const s of spans) cuts.add(s.start).add(s.end);
  const points = [...cuts].sort((a, b) => a - b);
  const out: Piece[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    const labels = spans.filter((s) => s.start <= a && s.end >= b).map((s) => s.label);
    const last = out[out.length - 1];
    if (last && labels.length === 0 && last.labels.length === 0) last.text += page.slice(a, b);
    else out.push({ text: page.slice(a, b), labels, at: a });
  }
  return out;
}
