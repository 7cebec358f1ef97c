// Reading a certificate's subject through Node's X509Certificate, which prints it one
// `TYPE=value` per line. Berth's subjects hold IDs and fixed names only, so no value contains
// a newline or needs unescaping.
import type { X509Certificate } from 'node:crypto';

export function subjectFields(cert: X509Certificate): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const line of cert.subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const type = line.slice(0, eq);
    fields.set(type, [...(fields.get(type) ?? []), line.slice(eq + 1)]);
  }
  return fields;
}

/** The one value of `type` in the subject; throws when it is absent, empty or repeated. */
export function singleSubjectField(cert: X509Certificate, type: string, what: string): string {
  const values = subjectFields(cert).get(type) ?? [];
  if (values.length !== 1 || values[0] === '') {
    throw new Error(`${what} must have exactly one non-empty ${type} in its subject; this one has ${values.length}`);
  }
  return values[0];
}
