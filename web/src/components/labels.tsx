// Label printing: the stock size and format a lab's printer takes, then one sample's label
// (GET …/label) or a box's (POST /api/samples/labels), saved as a PDF or ZPL file.
import { useState } from 'react';
import type { Schemas } from '../api/client';
import { Field, ProblemBanner, fetchFile, saveFile, submitWith, useSubmit } from './ui';

const SIZES: { value: Schemas['LabelSize']; label: string }[] = [
  { value: '25x13', label: '25 × 13 mm (tube)' },
  { value: '38x13', label: '38 × 13 mm (tube)' },
  { value: '50x25', label: '50 × 25 mm' },
  { value: '102x51', label: '102 × 51 mm' },
];
const FORMATS: { value: Schemas['LabelFormat']; label: string }[] = [
  { value: 'pdf', label: 'PDF (any printer)' },
  { value: 'zpl', label: 'ZPL (Zebra, 203 dpi)' },
];

/** `sampleIds` with one id prints that sample's label; more print them all in order. */
export function PrintLabels({ sampleIds, name }: { sampleIds: string[]; name: string }) {
  const [size, setSize] = useState<Schemas['LabelSize']>('50x25');
  const [format, setFormat] = useState<Schemas['LabelFormat']>('pdf');
  const print = useSubmit(async () => {
    const file =
      sampleIds.length === 1
        ? await fetchFile(`/api/samples/${encodeURIComponent(sampleIds[0])}/label?size=${size}&format=${format}`)
        : await fetchFile('/api/samples/labels', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ sample_ids: sampleIds, size, format }),
          });
    saveFile(file, `${name}.${format}`);
  });
  const count = sampleIds.length;
  return (
    <form className="inline" aria-label="Print labels" onSubmit={submitWith(() => print.run())}>
      <ProblemBanner error={print.error} />
      <Field label="Label size" name="size">
        {(id) => (
          <select id={id} value={size} onChange={(e) => setSize(e.target.value as Schemas['LabelSize'])}>
            {SIZES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Printer format" name="format">
        {(id) => (
          <select id={id} value={format} onChange={(e) => setFormat(e.target.value as Schemas['LabelFormat'])}>
            {FORMATS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <button type="submit" disabled={print.busy || count === 0}>
        {count === 1 ? 'Print label' : `Print ${count} labels`}
      </button>
    </form>
  );
}
