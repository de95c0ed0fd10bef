// Copies Swagger UI's files into the Worker's static assets (wrangler.toml [build] runs this
// before `wrangler dev` and `wrangler deploy`), so /api/docs works offline on Workers too.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const source = dirname(require.resolve('swagger-ui-dist/package.json'));
const target = join(dirname(new URL(import.meta.url).pathname), '..', 'dist', 'worker-assets', 'api', 'docs', 'assets');
mkdirSync(target, { recursive: true });
for (const file of ['swagger-ui.css', 'swagger-ui-bundle.js']) copyFileSync(join(source, file), join(target, file));
