import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, scratchDir } from './support/paths.ts';

// deploy.sh end to end against a local bare git remote, with stand-ins for what cannot run here:
// `ssh` runs the remote commands in a scratch "server" checkout, `docker` records its calls, and
// a small HTTP server plays the new container's /api/health, reporting the commit `docker
// compose up` was given. git, bash, curl and the script itself are real.

const run = promisify(execFile);
const STAND_INS = join(ROOT, 'test/fixtures/deploy-bin');
const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Dev',
  GIT_AUTHOR_EMAIL: 'dev@example.test',
  GIT_COMMITTER_NAME: 'Dev',
  GIT_COMMITTER_EMAIL: 'dev@example.test',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

let health: Server;
let healthPort: number;
/** What the fake app answers: the running commit, or a failing health. */
let healthMode: 'ok' | 'down' = 'ok';

beforeAll(async () => {
  health = createServer((req, res) => {
    const file = (req.url ?? '').includes('/api/health') ? currentCommitFile : undefined;
    const commit = file && existsSync(file) ? readFileSync(file, 'utf8') : null;
    res.writeHead(healthMode === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: healthMode === 'ok' ? 'ok' : 'error', commit }));
  });
  await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
  healthPort = (health.address() as { port: number }).port;
});
afterAll(() => {
  health?.close();
});

let dir: string;
let currentCommitFile: string;
const dev = () => join(dir, 'dev');
const server = () => join(dir, 'server');

async function git(cwd: string, ...args: string[]) {
  const { stdout } = await run('git', args, { cwd, env: { ...process.env, ...GIT_ENV } });
  return stdout.trim();
}

async function commitFile(name: string, content: string, message: string) {
  writeFileSync(join(dev(), name), content);
  await git(dev(), 'add', name);
  await git(dev(), 'commit', '-q', '-m', message);
}

beforeEach(async () => {
  healthMode = 'ok';
  dir = scratchDir('deploy-sh');
  currentCommitFile = join(dir, 'running-commit');
  await git(dir, 'init', '-q', '--bare', '-b', 'main', 'remote.git');
  await git(dir, 'init', '-q', '-b', 'main', 'dev');
  copyFileSync(join(ROOT, 'deploy.sh'), join(dev(), 'deploy.sh'));
  await git(dev(), 'add', 'deploy.sh');
  await git(dev(), 'commit', '-q', '-m', 'first');
  await git(dev(), 'remote', 'add', 'origin', join(dir, 'remote.git'));
  await git(dev(), 'push', '-q', 'origin', 'main');
  // The server's checkout, cloned once at setup as the VPS guide does.
  await git(dir, 'clone', '-q', join(dir, 'remote.git'), 'server');
  writeFileSync(join(server(), '.env.production'), `NODE_ENV=production\nPORT=${healthPort}\n`);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function deploy(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run('bash', ['deploy.sh', ...args], {
      cwd: dev(),
      env: {
        ...process.env,
        ...GIT_ENV,
        PATH: `${STAND_INS}:${process.env.PATH}`,
        FAKE_SSH_LOG: join(dir, 'ssh.log'),
        FAKE_DOCKER_LOG: join(dir, 'docker.log'),
        FAKE_SERVER_HOME: dir,
        FAKE_RUNNING_COMMIT: currentCommitFile,
        DEPLOY_HOST: '',
        ...env,
      },
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

const readLog = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '');
const dockerCalls = () =>
  readLog('docker.log')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'));
const target = () => ['--host', 'vps.example.test', '--user', 'deploy', '--dir', join(dir, 'server')];

describe('deploy.sh', () => {
  it('pushes, checks out the commit on the server, builds with DEPLOY_COMMIT/DEPLOY_TIME, restarts, prunes, waits for health, prints status and URLs', async () => {
    await commitFile('feature.txt', 'new feature\n', 'add a feature');
    const head = await git(dev(), 'rev-parse', 'HEAD');
    const short = await git(dev(), 'rev-parse', '--short', 'HEAD');

    const result = await deploy([...target(), '--app-url', 'https://crm.example.test'], {
      DEPLOY_STATUS_URL: 'https://status.example.test',
    });
    expect(result.code, result.output).toBe(0);

    expect(await git(join(dir, 'remote.git'), 'rev-parse', 'main')).toBe(head);
    expect(await git(server(), 'rev-parse', 'HEAD')).toBe(head);
    expect(readFileSync(join(server(), 'feature.txt'), 'utf8')).toBe('new feature\n');
    expect(readLog('ssh.log')).toMatch(/^deploy@vps\.example\.test\tbash -s -- /);

    const calls = dockerCalls();
    expect(calls.map(([args]) => args)).toEqual([
      'compose --env-file .env.production build app',
      'compose --env-file .env.production up -d --no-deps app',
      'image prune -f',
      'compose --env-file .env.production ps',
    ]);
    // The build and the restart both see the commit; the deploy time is ISO UTC.
    expect(calls[0]?.[1]).toBe(`DEPLOY_COMMIT=${short}`);
    expect(calls[1]?.[1]).toBe(`DEPLOY_COMMIT=${short}`);
    expect(result.output).toMatch(new RegExp(`Deployed ${short} at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ`));
    expect(result.output).toContain(`healthy: {"status":"ok","commit":"${short}"}`);
    expect(result.output).toContain('opsbase-app-1   app       Up (healthy)');
    expect(result.output).toContain('App:    https://crm.example.test');
    expect(result.output).toContain('Status: https://status.example.test');
  });

  it('refuses a dirty working tree: nothing pushed, nothing run on the server', async () => {
    const before = await git(join(dir, 'remote.git'), 'rev-parse', 'main');
    await commitFile('feature.txt', 'v1\n', 'v1');
    writeFileSync(join(dev(), 'feature.txt'), 'uncommitted edit\n');

    const result = await deploy(target());
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('uncommitted changes');
    expect(result.output).toContain('feature.txt');
    expect(await git(join(dir, 'remote.git'), 'rev-parse', 'main')).toBe(before);
    expect(readLog('ssh.log')).toBe('');
    expect(readLog('docker.log')).toBe('');
  });

  it('stops at a failed step with a non-zero exit: a failed build restarts nothing', async () => {
    await commitFile('feature.txt', 'v2\n', 'v2');
    const result = await deploy(target(), { FAKE_DOCKER_FAIL: 'build' });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('simulated failure of: compose --env-file .env.production build app');
    expect(result.output).toContain('FAILED on the server at: Building the app image');
    expect(result.output).toContain('FAILED at step: Deploying');
    expect(dockerCalls().map(([args]) => args)).toEqual(['compose --env-file .env.production build app']);
    expect(result.output).not.toContain('Deployed ');
  });

  it('fails when the new version never reports healthy, showing the app’s last log lines', async () => {
    healthMode = 'down';
    const result = await deploy([...target(), '--health-timeout', '3']);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('did not report');
    expect(dockerCalls().map(([args]) => args)).toContain('compose --env-file .env.production logs --tail 50 app');
  });

  it('fails when the push is refused (the remote moved on), before touching the server', async () => {
    // Someone else pushed to main meanwhile.
    await git(dir, 'clone', '-q', join(dir, 'remote.git'), 'other');
    writeFileSync(join(dir, 'other', 'other.txt'), 'theirs\n');
    await git(join(dir, 'other'), 'add', 'other.txt');
    await git(join(dir, 'other'), 'commit', '-q', '-m', 'theirs');
    await git(join(dir, 'other'), 'push', '-q', 'origin', 'main');
    await commitFile('feature.txt', 'mine\n', 'mine');

    const result = await deploy(target());
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('FAILED at step: Pushing main to origin');
    expect(readLog('ssh.log')).toBe('');
  });

  it('--dry-run prints every step and command, and runs none of them', async () => {
    const before = await git(join(dir, 'remote.git'), 'rev-parse', 'main');
    await commitFile('feature.txt', 'v3\n', 'v3');
    const result = await deploy([...target(), '--dry-run']);
    expect(result.code, result.output).toBe(0);
    for (const expected of [
      '==> Checking the working tree',
      '==> Pushing main to origin',
      '[dry-run] would run: git push origin HEAD:refs/heads/main',
      '[dry-run] would run: ssh deploy@vps.example.test',
      '| git checkout --quiet --detach "$commit"',
      '| compose build app',
      '| compose up -d --no-deps app',
      '| docker image prune -f',
      'Dry run: nothing was pushed or deployed.',
    ]) {
      expect(result.output).toContain(expected);
    }
    expect(await git(join(dir, 'remote.git'), 'rev-parse', 'main')).toBe(before);
    expect(readLog('ssh.log')).toBe('');
    expect(readLog('docker.log')).toBe('');
  });

  it('--ref deploys an earlier pushed commit (a rollback) without pushing', async () => {
    const first = await git(dev(), 'rev-parse', 'HEAD');
    await commitFile('feature.txt', 'bad release\n', 'bad release');
    expect((await deploy(target())).code).toBe(0);
    const result = await deploy([...target(), '--ref', first]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('Rolling back to');
    expect(await git(server(), 'rev-parse', 'HEAD')).toBe(first);
    expect(existsSync(join(server(), 'feature.txt'))).toBe(false);
  });

  it('needs a host, and explains its options with --help', async () => {
    const missing = await deploy([]);
    expect(missing.code).not.toBe(0);
    expect(missing.output).toContain('set DEPLOY_HOST or pass --host');
    const help = await deploy(['--help']);
    expect(help.code).toBe(0);
    for (const option of ['--host', '--user', '--dir', '--dry-run', 'DEPLOY_HOST', 'DEPLOY_USER', 'DEPLOY_DIR']) {
      expect(help.output).toContain(option);
    }
    const unknown = await deploy(['--frobnicate']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.output).toContain('unknown option --frobnicate');
  });
});
