/** What replaces a secret in records and logs. */
export const REDACTED = '[REDACTED]';

/**
 * Replaces every occurrence of the secrets (an API key, header values) in a text. A server may
 * echo what it was sent (a 401 body quoting the token, a proxy's error page), so everything the
 * gate records or logs goes through this.
 */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  // Longest first, so a secret that contains another is replaced whole.
  const values = [...new Set(secrets.filter((secret) => secret.length > 0))].sort(
    (a, b) => b.length - a.length,
  );
  if (values.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const value of values) out = out.split(value).join(REDACTED);
    return out;
  };
}
