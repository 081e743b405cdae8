// The console's static files (client/http/console/static, copied next to the compiled module by `npm run build`),
// read once and served from memory with their content type. Nothing is fetched from elsewhere at run time.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

export interface Asset {
  body: Buffer;
  contentType: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export const ASSET_NAME = /^[a-z0-9-]+\.(js|css|svg)$/;

let assets: Map<string, Asset> | undefined;

export function consoleAssets(): Map<string, Asset> {
  if (assets) return assets;
  const dir = path.join(__dirname, 'static');
  const out = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type) out.set(name, { body: readFileSync(path.join(dir, name)), contentType: type });
  }
  assets = out;
  return out;
}

/** Scripts and styles from this origin only; images also as blobs (rendered pages fetched with the credential). */
export const CONSOLE_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};
