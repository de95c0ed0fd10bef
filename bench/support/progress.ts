/** Progress lines prefixed with the bench's name, so a long run shows what it is doing. */
export function progress(bench: string): (message: string) => void {
  return (message) => console.log(`[${bench}] ${message}`);
}
