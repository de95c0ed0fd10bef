/**
 * Masks what looks like a credential in a message bound for a log: URL passwords, bearer tokens,
 * key=value secrets and JWTs.
 */
export function redactSecrets(message: string): string {
  return message
    .replace(/(\w+:\/\/[^:/\s@]+:)[^@\s]+@/g, '$1***@')
    .replace(/(bearer\s+)[\w\-.~+/]+=*/gi, '$1***')
    .replace(
      /((?:password|passwd|secret|token|api[_-]?key|authorization)\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi,
      '$1***',
    )
    .replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, '***')
    .slice(0, 8000);
}
