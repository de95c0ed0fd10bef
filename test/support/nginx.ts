import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, scratchDir } from './paths.ts';
import { freePort, waitFor } from './processes.ts';

/** nginx from the system (Debian's package), or null when it is not installed. */
export function findNginx(): string | null {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx']) {
    if (existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/**
 * A site file from deploy/nginx as the server would have it, moved to loopback ports: every
 * `listen 80` becomes `listen 127.0.0.1:<port>` and each upstream address is replaced. Throws when
 * a replacement finds nothing, so a renamed directive cannot leave the real ports in place.
 */
export function renderSite(file: string, listenPort: number, upstreams: Record<string, number>): string {
  let text = readFileSync(join(ROOT, 'deploy/nginx', file), 'utf8');
  const replace = (pattern: RegExp, value: string) => {
    if (!pattern.test(text)) throw new Error(`${file}: nothing matches ${pattern}`);
    text = text.replace(pattern, value);
  };
  replace(/^\s*listen \[::\]:80;\n/gm, '');
  replace(/listen 80;/g, `listen 127.0.0.1:${listenPort};`);
  for (const [address, port] of Object.entries(upstreams)) {
    replace(new RegExp(address.replaceAll('.', '\\.'), 'g'), `127.0.0.1:${port}`);
  }
  return text;
}

export type Nginx = { port(site: string): number; accessLog(): string; stop(): Promise<void> };

/**
 * Runs nginx in the foreground on a scratch prefix with the given rendered sites, each on its
 * own free loopback port, and waits until every port answers.
 */
export async function startNginx(
  binary: string,
  sites: Record<string, (listenPort: number) => string>,
): Promise<Nginx> {
  const dir = scratchDir('nginx');
  mkdirSync(join(dir, 'sites'));
  const ports: Record<string, number> = {};
  for (const [name, render] of Object.entries(sites)) {
    ports[name] = await freePort();
    writeFileSync(join(dir, 'sites', `${name}.conf`), render(ports[name] as number));
  }
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => {
    mkdirSync(join(dir, kind));
    return `  ${kind}_temp_path ${join(dir, kind)};`;
  });
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      // As root, nginx's workers would switch to nobody, who cannot use the scratch dirs.
      process.getuid?.() === 0 ? 'user root;' : '',
      'worker_processes 1;',
      'daemon off;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 512; }',
      'http {',
      '  include /etc/nginx/mime.types;',
      '  default_type application/octet-stream;',
      `  access_log ${join(dir, 'access.log')};`,
      ...temp,
      `  include ${join(dir, 'sites')}/*.conf;`,
      '}',
      '',
    ].join('\n'),
  );
  const args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')];
  // `nginx -t` first: a config error is reported as such rather than as a port that never opens.
  execFileSync(binary, [...args, '-t'], { stdio: 'pipe' });
  const child: ChildProcess = spawn(binary, args, { stdio: 'pipe' });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    for (const port of Object.values(ports)) {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
          const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
          return res !== null;
        },
        20_000,
        `nginx on port ${port}`,
      );
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    port: (site) => {
      const port = ports[site];
      if (port === undefined) throw new Error(`no site ${site}`);
      return port;
    },
    accessLog: () => readFileSync(join(dir, 'access.log'), 'utf8'),
    async stop() {
      // SIGTERM: a fast shutdown (SIGQUIT would wait for open WebSockets).
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
