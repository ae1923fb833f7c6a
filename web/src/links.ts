// Where an event's subject (`samples/{id}`, `storage/locations/{id}`, …) opens in the app.

const ROUTES: [RegExp, (id: string) => string][] = [
  [/^samples\/([^/]+)$/, (id) => `/samples/${id}`],
  [/^storage\/locations\/([^/]+)$/, (id) => `/storage/${id}`],
  [/^sequencing\/runs\/([^/]+)$/, (id) => `/sequencing/runs/${id}`],
  [/^submissions\/([^/]+)$/, (id) => `/submissions/${id}`],
  [/^intake\/documents\/([^/]+)$/, (id) => `/documents/${id}`],
  [/^imports\/([^/]+)$/, () => `/samples`],
];

/** The app path of a subject or of a message's absolute link, or null when none fits. */
export function appPath(subjectOrLink: string | null | undefined): string | null {
  if (!subjectOrLink) return null;
  let subject = subjectOrLink;
  if (/^https?:\/\//.test(subject)) {
    try {
      subject = new URL(subject).pathname;
    } catch {
      return null;
    }
  }
  subject = subject.replace(/^\/+/, '');
  for (const [pattern, to] of ROUTES) {
    const m = pattern.exec(subject);
    if (m) return to(encodeURIComponent(decodeURIComponent(m[1])));
  }
  return null;
}
