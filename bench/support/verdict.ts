/** One budget checked by a bench: what was measured against which target, and whether it held. */
export type Verdict = { bench: string; target: string; measured: string; pass: boolean };

export function formatVerdict(verdict: Verdict): string {
  return `${verdict.pass ? 'PASS' : 'MISS'}  ${verdict.target}: ${verdict.measured}`;
}
