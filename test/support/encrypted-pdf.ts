// Password-protected PDFs written by hand for tests, without any PDF library: a minimal document (catalog, pages,
// one page per text, Helvetica) encrypted with the PDF Standard Security Handler, ISO 32000-1 §7.6.3.
// 'rc4-128' is /V 2 /R 3 (RC4, 128-bit key); 'aes-128' is /V 4 /R 4 with the AESV2 crypt filter.
// RC4 is implemented here because OpenSSL 3 does not always expose it; AES comes from node:crypto.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';

export interface EncryptedPdfOptions {
  /** One page per entry, each drawn as a single line of Helvetica (WinAnsi / Latin-1 characters). */
  text: string[];
  userPassword: string;
  /** Defaults to the user password. */
  ownerPassword?: string;
  algorithm?: 'rc4-128' | 'aes-128';
}

/** The 32-byte padding string of Algorithm 2, step a. */
const PAD = Buffer.from('28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a', 'hex');
/** /P: all permissions (the bits 1-2 and 7-8 reserved, the high bits set), as a signed 32-bit integer. */
const PERMISSIONS = -4;
const KEY_BYTES = 16;

const md5 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** Plain RC4 (the cipher is symmetric: the same call encrypts and decrypts). */
export function rc4(key: Uint8Array, data: Uint8Array): Buffer {
  const s = new Uint8Array(256);
  for (let i = 0; i < 256; i++) s[i] = i;
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
  }
  const out = Buffer.alloc(data.length);
  for (let n = 0, i = 0, j = 0; n < data.length; n++) {
    i = (i + 1) & 0xff;
    j = (j + s[i]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
    out[n] = data[n]! ^ s[(s[i]! + s[j]!) & 0xff]!;
  }
  return out;
}

/** A password padded or truncated to 32 bytes (Algorithm 2, step a). Characters are taken as Latin-1 bytes. */
function padPassword(password: string): Buffer {
  const bytes = Buffer.from(password, 'latin1').subarray(0, 32);
  return Buffer.concat([bytes, PAD.subarray(0, 32 - bytes.length)]);
}

/** RC4 with the key, then (revision 3 and later) 19 more passes with the key XORed with the pass number. */
function rc4Rounds(key: Buffer, data: Buffer): Buffer {
  let out = rc4(key, data);
  for (let i = 1; i <= 19; i++) out = rc4(Buffer.from(key.map((b) => b ^ i)), out);
  return out;
}

/** Algorithm 3: the /O entry. */
function ownerEntry(ownerPassword: string, userPassword: string): Buffer {
  let hash = md5(padPassword(ownerPassword));
  for (let i = 0; i < 50; i++) hash = md5(hash);
  return rc4Rounds(hash.subarray(0, KEY_BYTES), padPassword(userPassword));
}

/** Algorithm 2: the file encryption key (revision 3 or 4, metadata encrypted). */
function fileKey(userPassword: string, o: Buffer, id: Buffer): Buffer {
  const p = Buffer.alloc(4);
  p.writeInt32LE(PERMISSIONS);
  let hash = md5(padPassword(userPassword), o, p, id);
  for (let i = 0; i < 50; i++) hash = md5(hash.subarray(0, KEY_BYTES));
  return hash.subarray(0, KEY_BYTES);
}

/** Algorithm 5: the /U entry (16 meaningful bytes, then 16 arbitrary ones). */
function userEntry(key: Buffer, id: Buffer): Buffer {
  return Buffer.concat([rc4Rounds(key, md5(PAD, id)), randomBytes(16)]);
}

/** Algorithm 1: the key for one object, with the "sAlT" suffix for AES. */
function objectKey(key: Buffer, num: number, gen: number, aes: boolean): Buffer {
  const ref = Buffer.from([num & 0xff, (num >> 8) & 0xff, (num >> 16) & 0xff, gen & 0xff, (gen >> 8) & 0xff]);
  const hash = md5(key, ref, aes ? Buffer.from('sAlT', 'latin1') : Buffer.alloc(0));
  return hash.subarray(0, Math.min(key.length + 5, 16));
}

function encryptObjectData(key: Buffer, num: number, data: Buffer, aes: boolean): Buffer {
  const k = objectKey(key, num, 0, aes);
  if (!aes) return rc4(k, data);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-cbc', k, iv); // PKCS#5 padding is the default
  return Buffer.concat([iv, cipher.update(data), cipher.final()]);
}

/** A PDF literal string body: backslash, parentheses and anything outside printable ASCII escaped. */
function literal(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (ch === '\\' || ch === '(' || ch === ')') out += `\\${ch}`;
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else if (code <= 0xff) out += `\\${code.toString(8).padStart(3, '0')}`;
    else out += '?';
  }
  return out;
}

/**
 * A PDF of one page per entry of `text`, encrypted for `userPassword` (Standard Security Handler, /P -4).
 * Every content stream is encrypted with its object key; the /Encrypt dictionary and the trailer are not.
 */
export function makeEncryptedPdf(opts: EncryptedPdfOptions): Uint8Array {
  const aes = (opts.algorithm ?? 'rc4-128') === 'aes-128';
  const id = randomBytes(16);
  const o = ownerEntry(opts.ownerPassword ?? opts.userPassword, opts.userPassword);
  const key = fileKey(opts.userPassword, o, id);
  const u = userEntry(key, id);

  // Objects: 1 catalog, 2 page tree, 3 font, then a page and its content per text, then the /Encrypt dictionary.
  const objects: Buffer[] = [];
  const add = (body: Buffer | string): number => {
    objects.push(typeof body === 'string' ? Buffer.from(body, 'latin1') : body);
    return objects.length;
  };
  add('<< /Type /Catalog /Pages 2 0 R >>');
  const pagesIndex = add('') - 1; // filled in once the kids are known
  add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  const kids: number[] = [];
  for (const text of opts.text) {
    const pageNum = objects.length + 1;
    const contentNum = pageNum + 1;
    add(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${contentNum} 0 R >>`,
    );
    const plain = Buffer.from(`BT /F1 12 Tf 72 720 Td (${literal(text)}) Tj ET\n`, 'latin1');
    const data = encryptObjectData(key, contentNum, plain, aes);
    add(
      Buffer.concat([
        Buffer.from(`<< /Length ${data.length} >>\nstream\n`, 'latin1'),
        data,
        Buffer.from('\nendstream', 'latin1'),
      ]),
    );
    kids.push(pageNum);
  }
  objects[pagesIndex] = Buffer.from(
    `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`,
    'latin1',
  );
  const filter = aes
    ? '/V 4 /R 4 /Length 128 /CF << /StdCF << /CFM /AESV2 /AuthEvent /DocOpen /Length 16 >> >> /StmF /StdCF /StrF /StdCF'
    : '/V 2 /R 3 /Length 128';
  const encryptNum = add(
    `<< /Filter /Standard ${filter} /O <${o.toString('hex')}> /U <${u.toString('hex')}> /P ${PERMISSIONS} >>`,
  );

  const parts: Buffer[] = [Buffer.from('%PDF-1.6\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = parts[0]!.length;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(offset);
    const obj = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`, 'latin1'), body, Buffer.from('\nendobj\n', 'latin1')]);
    parts.push(obj);
    offset += obj.length;
  });
  const xref = [
    `xref\n0 ${objects.length + 1}\n`,
    '0000000000 65535 f \n',
    ...offsets.map((off) => `${String(off).padStart(10, '0')} 00000 n \n`),
  ].join('');
  const hexId = id.toString('hex');
  const trailer = `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Encrypt ${encryptNum} 0 R /ID [<${hexId}> <${hexId}>] >>\nstartxref\n${offset}\n%%EOF\n`;
  parts.push(Buffer.from(xref + trailer, 'latin1'));
  return new Uint8Array(Buffer.concat(parts));
}
