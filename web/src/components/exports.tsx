// Taking a list away as a spreadsheet. `ListExport` starts an export of a long list on
// the server (the sample list with its filters) and follows it until its file is ready:
// rows counted as they are written, then a download link (presigned, valid 15 minutes).
// `TableDownload` asks a short list (a box's contents, a run's samples) for CSV or XLSX
// by Accept and saves the answer.
import { useEffect, useState } from 'react';
import type { Schemas } from '../api/client';
import { ProblemBanner, fetchFile, saveFile, useSubmit } from './ui';

export const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

type Export = Schemas['ListExport'];
type Format = Schemas['TableFormat'];

/** The export's state in words: rows so far, done, or why it failed. */
export function exportState(e: Export): string {
  const rows = `${e.rows.toLocaleString('en')} row${e.rows === 1 ? '' : 's'}`;
  if (e.status === 'running') return `Exporting… ${rows} so far`;
  if (e.status === 'done') return `Ready: ${rows}`;
  return `Failed: ${e.error ?? 'unknown reason'}`;
}

/**
 * `start` begins an export in a format and answers it; `poll` reads it again. Polling
 * stops when it ends or the component goes away.
 */
export function ListExport({
  start,
  poll,
  label,
}: {
  start: (format: Format) => Promise<Export>;
  poll: (id: string) => Promise<Export>;
  label: string;
}) {
  const [current, setCurrent] = useState<Export | null>(null);
  const begin = useSubmit(async (format: Format) => setCurrent(await start(format)));
  const running = current?.status === 'running';
  const id = current?.id;
  useEffect(() => {
    if (!running || !id) return;
    let stopped = false;
    const timer = setInterval(() => {
      poll(id).then(
        (next) => !stopped && setCurrent(next),
        () => undefined,
      );
    }, 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [running, id, poll]);
  return (
    <div className="inline" role="group" aria-label={label}>
      <ProblemBanner error={begin.error} />
      <button type="button" className="secondary" disabled={begin.busy || running} onClick={() => void begin.run('csv')}>
        Export CSV
      </button>
      <button type="button" className="secondary" disabled={begin.busy || running} onClick={() => void begin.run('xlsx')}>
        Export XLSX
      </button>
      {current && (
        <p role="status">
          {exportState(current)}
          {current.status === 'done' && current.url && (
            <>
              {' '}
              <a href={current.url} download={current.filename}>
                Download {current.filename}
              </a>
            </>
          )}
        </p>
      )}
    </div>
  );
}

/** CSV and XLSX buttons for a list `path` answers whole by Accept; saved as `name.*`. */
export function TableDownload({ path, name, label }: { path: string; name: string; label: string }) {
  const save = useSubmit(async (format: Format) => {
    const file = await fetchFile(path, { headers: { accept: format === 'csv' ? 'text/csv' : XLSX } });
    saveFile(file, `${name}.${format}`);
  });
  return (
    <div className="inline" role="group" aria-label={label}>
      <ProblemBanner error={save.error} />
      <button type="button" className="secondary" disabled={save.busy} onClick={() => void save.run('csv')}>
        Download CSV
      </button>
      <button type="button" className="secondary" disabled={save.busy} onClick={() => void save.run('xlsx')}>
        Download XLSX
      </button>
    </div>
  );
}
