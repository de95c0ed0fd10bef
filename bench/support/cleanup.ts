type CleanupStep = () => unknown;

const steps: CleanupStep[] = [];

/**
 * Registers something to undo if the bench ends early (error, Ctrl-C): children to stop, scratch
 * dirs to remove. Returns a function that unregisters it once the owner has cleaned up itself.
 */
export function onCleanup(step: CleanupStep): () => void {
  steps.push(step);
  return () => {
    const index = steps.indexOf(step);
    if (index >= 0) steps.splice(index, 1);
  };
}

/** Runs every pending step, newest first (a server stops before its data dir is removed). */
export async function cleanupAll(): Promise<void> {
  while (steps.length > 0) {
    const step = steps.pop()!;
    try {
      await step();
    } catch (error) {
      console.error(`cleanup step failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
