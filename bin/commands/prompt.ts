import { createInterface } from 'node:readline';

export const isInteractive = () => Boolean(process.stdin.isTTY && process.stdout.isTTY);

/** Reads a line from the terminal without echoing it. */
export function promptHidden(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    const output = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WritableStream };
    output._writeToOutput = (text: string) => {
      // Echo the prompt and the final newline, never the typed characters.
      if (text.startsWith(question) || text === '\r\n' || text === '\n') output.output.write(text);
    };
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    });
  });
}
