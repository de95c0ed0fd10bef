import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export type BundleSize = { files: string[]; bytes: number; gzipBytes: number };

/** Cloudflare's limits on a Worker's compressed size: 3 MiB on the free plan, 10 MiB on paid. */
export const WORKER_SIZE_LIMITS = { free: 3 * 1024 * 1024, paid: 10 * 1024 * 1024 } as const;

/**
 * Builds the Worker exactly as `wrangler deploy` would (`wrangler deploy --dry-run --outdir`),
 * with the given vars, and measures what would be uploaded: every module in outdir but source
 * maps, raw and gzipped (Cloudflare's limits apply to the gzipped size).
 */
export async function buildWorkerBundle(
  root: string,
  outdir: string,
  vars: Record<string, string> = {},
  options: { stdio?: 'inherit' | 'pipe'; config?: string } = {},
): Promise<BundleSize & { output: string }> {
  rmSync(outdir, { recursive: true, force: true });
  const args = ['deploy', '--dry-run', '--outdir', outdir, ...wranglerVars(vars)];
  if (options.config) args.push('--config', options.config);
  const output = await runWrangler(root, args, options.stdio ?? 'pipe');
  return { ...measureBundle(outdir), output };
}

export function measureBundle(outdir: string): BundleSize {
  const files = readdirSync(outdir).filter((f) => !f.endsWith('.map') && f !== 'README.md');
  let bytes = 0;
  let gzipBytes = 0;
  for (const file of files) {
    const content = readFileSync(join(outdir, file));
    bytes += content.length;
    gzipBytes += gzipSync(content, { level: 9 }).length;
  }
  return { files, bytes, gzipBytes };
}

/** `--var NAME:value` for each, as wrangler deploy takes them. */
export function wranglerVars(vars: Record<string, string>): string[] {
  return Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]);
}

/** Runs the project's wrangler; rejects with its output when it exits non-zero. */
export function runWrangler(root: string, args: string[], stdio: 'inherit' | 'pipe'): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(root, 'node_modules/.bin/wrangler'), args, {
      cwd: root,
      stdio: ['ignore', stdio, stdio],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`wrangler ${args[0]} exited with ${code}\n${output}`)),
    );
  });
}

export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
