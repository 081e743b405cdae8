// Decides what a file is from its bytes. The file name is a weak hint only: it can choose between two error codes or
// tip an ambiguous text file into CSV, never turn one format into another.
import { GroundworkError } from '../common/errors';
import { IngestError } from './errors';

export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be';

/** What the zip central directory declares; the child re-checks the real inflated size before parsing. */
export interface ZipSummary {
  entries: number;
  declaredUncompressedBytes: number;
}

export type SniffResult =
  | { kind: 'pdf'; format: 'pdf'; mediaType: string }
  | { kind: 'spreadsheet'; format: 'xlsx' | 'xlsm' | 'xlsb' | 'ods'; mediaType: string; zip: ZipSummary }
  | { kind: 'spreadsheet'; format: 'xls'; mediaType: string }
  | { kind: 'spreadsheet'; format: 'csv'; mediaType: string; encoding: TextEncodingName; delimiter: string }
  | { kind: 'text'; format: 'text'; mediaType: string; encoding: TextEncodingName };

const MEDIA_TYPES = {
  pdf: 'application/pdf',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  xlsm: 'application/vnd.ms-excel.sheet.macroEnabled.12',
  xlsb: 'application/vnd.ms-excel.sheet.binary.macroEnabled.12',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  xls: 'application/vnd.ms-excel',
  csv: 'text/csv',
  text: 'text/plain',
  markdown: 'text/markdown',
} as const;

/**
 * Sniffs the type of `bytes`. Throws UNSUPPORTED_TYPE for anything that is not a PDF, a spreadsheet or UTF-8/UTF-16
 * text; SHEET_ENCRYPTED for password-protected OOXML (an OLE container holding EncryptionInfo); TEXT_ENCODING for
 * text in a legacy 8-bit encoding.
 *
 * Decision: bytes without a `%PDF-` header in the first 1 KB are not a PDF whatever the name says, so garbage named
 * `.pdf` is UNSUPPORTED_TYPE (PDF_CORRUPT is for files that are PDFs but cannot be read).
 */
export function sniff(bytes: Uint8Array, fileName?: string): SniffResult {
  const ext = extensionOf(fileName);
  if (indexOfAscii(bytes, '%PDF-', 0, 1024) >= 0) return { kind: 'pdf', format: 'pdf', mediaType: MEDIA_TYPES.pdf };
  if (startsWith(bytes, ZIP_MAGIC)) return sniffZip(bytes, ext);
  if (startsWith(bytes, OLE_MAGIC)) return sniffOle(bytes);
  return sniffText(bytes, ext);
}

// ---------- zip (xlsx, xlsm, xlsb, ods) ----------

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const SPREADSHEET_EXTENSIONS = new Set(['xlsx', 'xlsm', 'xlsb', 'ods', 'xls', 'csv']);

function sniffZip(bytes: Uint8Array, ext: string): SniffResult {
  let entries: ZipEntry[];
  try {
    entries = readZipDirectory(bytes);
  } catch (err) {
    if (err instanceof ZipFormatError) {
      // A broken zip named like a workbook is most likely a damaged workbook; anything else we do not support.
      if (SPREADSHEET_EXTENSIONS.has(ext))
        throw new IngestError('SHEET_CORRUPT', 'The workbook is damaged: its zip directory cannot be read.');
      throw new IngestError('UNSUPPORTED_TYPE', 'The file is a zip archive that is not a spreadsheet.');
    }
    throw err;
  }
  const format = zipSpreadsheetFormat(bytes, entries, ext);
  if (!format) throw new IngestError('UNSUPPORTED_TYPE', 'The file is a zip archive that is not a spreadsheet.');
  try {
    verifyZipEntries(bytes, entries);
  } catch (err) {
    if (err instanceof ZipFormatError) {
      throw new IngestError(
        'SHEET_CORRUPT',
        'The workbook is damaged: its local file headers disagree with its zip directory.',
      );
    }
    throw err;
  }
  // The sizes the central directory declares, now known to be those of the local headers too.
  const zip: ZipSummary = {
    entries: entries.length,
    declaredUncompressedBytes: entries.reduce((sum, e) => sum + e.uncompressedSize, 0),
  };
  return { kind: 'spreadsheet', format, mediaType: MEDIA_TYPES[format], zip };
}

function zipSpreadsheetFormat(
  bytes: Uint8Array,
  entries: ZipEntry[],
  ext: string,
): 'xlsx' | 'xlsm' | 'xlsb' | 'ods' | undefined {
  const names = new Set(entries.map((e) => e.name.toLowerCase()));
  if (names.has('xl/workbook.bin')) return 'xlsb';
  if (names.has('xl/workbook.xml')) return names.has('xl/vbaproject.bin') || ext === 'xlsm' ? 'xlsm' : 'xlsx';
  if (isOdsSpreadsheet(bytes, entries)) return 'ods';
  return undefined;
}

/** ODF stores its media type uncompressed in a first entry named "mimetype". */
function isOdsSpreadsheet(bytes: Uint8Array, entries: ZipEntry[]): boolean {
  const mimetype = entries.find((e) => e.name === 'mimetype');
  if (mimetype && mimetype.method === 0 && mimetype.compressedSize < 200) {
    const start = localDataOffset(bytes, mimetype);
    if (start !== undefined && start + mimetype.compressedSize <= bytes.length) {
      const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, mimetype.compressedSize).toString('latin1');
      return text.trim() === MEDIA_TYPES.ods;
    }
  }
  // Some writers compress or omit the mimetype entry; content.xml plus an ods-ish manifest is still an ODF document,
  // but without the mimetype we cannot tell a spreadsheet from a text document, so we only accept the clear case.
  return false;
}

export interface ZipEntry {
  name: string;
  method: number;
  /** General purpose bit flags; bit 3 announces a data descriptor after the data. */
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  /** The name's bytes as stored (a view into the file), compared byte for byte with the local header's copy. */
  rawName: Uint8Array;
}

/** A zip structure that cannot be read. Callers turn it into the ingestion code that fits (SHEET_CORRUPT, UNSUPPORTED_TYPE). */
export class ZipFormatError extends GroundworkError {
  override readonly name = 'ZipFormatError';
  constructor(message: string) {
    super('ZIP_CORRUPT', message);
  }
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const DATA_DESCRIPTOR_SIGNATURE = 0x08074b50;
const U32_MAX = 0xffffffff;

/** Little-endian reads that throw ZipFormatError outside the bytes. */
interface ZipReader {
  view: DataView;
  u16(at: number): number;
  u32(at: number): number;
  u64(at: number): number;
}

function zipReader(bytes: Uint8Array): ZipReader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number): number => {
    if (at < 0 || at + 2 > bytes.length) throw new ZipFormatError('zip structure out of bounds');
    return view.getUint16(at, true);
  };
  const u32 = (at: number): number => {
    if (at < 0 || at + 4 > bytes.length) throw new ZipFormatError('zip structure out of bounds');
    return view.getUint32(at, true);
  };
  const u64 = (at: number): number => u32(at) + u32(at + 4) * 0x100000000;
  return { view, u16, u32, u64 };
}

/**
 * Reads the zip central directory (with zip64 sizes) without inflating anything. Every offset is bounds-checked, so a
 * hostile archive can only make this throw ZipFormatError. Cost is linear in the directory size.
 */
export function readZipDirectory(bytes: Uint8Array): ZipEntry[] {
  const read = zipReader(bytes);
  const { count, dirSize, dirOffset } = centralDirectoryLocation(bytes, read);
  if (dirOffset + dirSize > bytes.length) throw new ZipFormatError('central directory out of bounds');
  // Each central header is at least 46 bytes: a count beyond that is a lie we refuse before looping on it.
  if (count * 46 > dirSize) throw new ZipFormatError('entry count exceeds directory size');

  const entries: ZipEntry[] = [];
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    const { entry, next } = readCentralHeader(bytes, read, at);
    entries.push(entry);
    at = next;
  }
  return entries;
}

/** Entry count, size and offset of the central directory: from the end record, or its zip64 twin where a field overflowed. */
function centralDirectoryLocation(
  bytes: Uint8Array,
  read: ZipReader,
): { count: number; dirSize: number; dirOffset: number; eocd: number } {
  // The end-of-central-directory record sits in the last 22 + 65535 (max comment) bytes.
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (read.view.getUint32(at, true) === EOCD_SIGNATURE) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new ZipFormatError('no end of central directory');
  // SheetJS takes the last end record signature in the file, even one closer to the end than a whole record: a second
  // one after ours would send it to a directory we never checked.
  for (let at = eocd + 1; at + 4 <= bytes.length; at++) {
    if (read.view.getUint32(at, true) === EOCD_SIGNATURE)
      throw new ZipFormatError('two end of central directory records');
  }
  let count = read.u16(eocd + 10);
  let dirSize = read.u32(eocd + 12);
  let dirOffset = read.u32(eocd + 16);
  if (count === 0xffff || dirSize === U32_MAX || dirOffset === U32_MAX) {
    const locator = eocd - 20;
    if (locator >= 0 && read.u32(locator) === ZIP64_LOCATOR_SIGNATURE) {
      const record = read.u64(locator + 8);
      if (read.u32(record) !== ZIP64_EOCD_SIGNATURE) throw new ZipFormatError('bad zip64 record');
      count = read.u64(record + 32);
      dirSize = read.u64(record + 40);
      dirOffset = read.u64(record + 48);
    }
  }
  return { count, dirSize, dirOffset, eocd };
}

/** One central directory header at `at`, and the offset of the next one. */
function readCentralHeader(bytes: Uint8Array, read: ZipReader, at: number): { entry: ZipEntry; next: number } {
  if (read.u32(at) !== CENTRAL_HEADER_SIGNATURE) throw new ZipFormatError('bad central header');
  const flags = read.u16(at + 8);
  const method = read.u16(at + 10);
  const compressedSize = read.u32(at + 20);
  const uncompressedSize = read.u32(at + 24);
  const nameLength = read.u16(at + 28);
  const extraLength = read.u16(at + 30);
  const commentLength = read.u16(at + 32);
  const localHeaderOffset = read.u32(at + 42);
  const nameStart = at + 46;
  if (nameStart + nameLength + extraLength > bytes.length) throw new ZipFormatError('entry out of bounds');
  const rawName = bytes.subarray(nameStart, nameStart + nameLength);
  const name = Buffer.from(rawName.buffer, rawName.byteOffset, rawName.length).toString('utf8');
  const extraEnd = nameStart + nameLength + extraLength;
  const sizes = applyZip64Extra(read, nameStart + nameLength, extraEnd, {
    compressedSize,
    uncompressedSize,
    localHeaderOffset,
  });
  return { entry: { name, method, flags, ...sizes, rawName }, next: extraEnd + commentLength };
}

type EntrySizes = Pick<ZipEntry, 'compressedSize' | 'uncompressedSize' | 'localHeaderOffset'>;

/** Zip64 extended information: present fields appear in this order only for values that overflowed 32 bits. */
function applyZip64Extra(read: ZipReader, start: number, end: number, sizes: EntrySizes): EntrySizes {
  let { compressedSize, uncompressedSize, localHeaderOffset } = sizes;
  let extra = start;
  while (extra + 4 <= end) {
    const id = read.u16(extra);
    const size = read.u16(extra + 2);
    if (id === 0x0001) {
      let field = extra + 4;
      if (uncompressedSize === U32_MAX && field + 8 <= end) {
        uncompressedSize = read.u64(field);
        field += 8;
      }
      if (compressedSize === U32_MAX && field + 8 <= end) {
        compressedSize = read.u64(field);
        field += 8;
      }
      if (localHeaderOffset === U32_MAX && field + 8 <= end) localHeaderOffset = read.u64(field);
    }
    extra += 4 + size;
  }
  return { compressedSize, uncompressedSize, localHeaderOffset };
}

/** Offset of an entry's data, after its local header (whose name/extra lengths may differ from the central copy). */
export function localDataOffset(bytes: Uint8Array, entry: ZipEntry): number | undefined {
  const at = entry.localHeaderOffset;
  if (at < 0 || at + 30 > bytes.length) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(at, true) !== LOCAL_HEADER_SIGNATURE) return undefined;
  return at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
}

/**
 * Checks every entry's local header against its central directory entry, without inflating anything: signature,
 * method, name, compressed and uncompressed sizes (those of the data descriptor when flag bit 3 is set), and that no
 * two entries share bytes. Throws ZipFormatError on the first disagreement. Cost is linear in the number of entries.
 *
 * Why: the central directory is what we sniff and sum, but SheetJS reads each entry through its local header and
 * inflates the deflate stream found there until it ends, whatever size either header declares; it compares the sizes
 * only afterwards. A directory that declares a few bytes in front of local headers (or a stream) worth 600 MB made
 * it inflate everything before failing (31 s, 694 MB). The stream itself is measured in the child (checkInflatedSize).
 */
export function verifyZipEntries(bytes: Uint8Array, entries: ZipEntry[]): void {
  const read = zipReader(bytes);
  // SheetJS walks as many entries as the end record's count for this disk (not the total we read), from its 32-bit
  // offset, and knows no zip64: both must name the directory checked here.
  const { eocd, dirOffset } = centralDirectoryLocation(bytes, read);
  if (read.u16(eocd + 8) !== entries.length || read.u16(eocd + 10) !== entries.length) {
    throw new ZipFormatError('entry counts differ');
  }
  if (read.u32(eocd + 16) !== dirOffset) throw new ZipFormatError('directory offsets differ');
  const spans: { from: number; to: number }[] = [];
  for (const entry of entries) {
    const at = entry.localHeaderOffset;
    if (read.u32(at) !== LOCAL_HEADER_SIGNATURE) throw new ZipFormatError('no local header');
    const flags = read.u16(at + 6);
    const method = read.u16(at + 8);
    let compressedSize = read.u32(at + 18);
    let uncompressedSize = read.u32(at + 22);
    const nameLength = read.u16(at + 26);
    const extraLength = read.u16(at + 28);
    const dataStart = at + 30 + nameLength + extraLength;
    if (dataStart > bytes.length) throw new ZipFormatError('local header out of bounds');
    if (method !== entry.method) throw new ZipFormatError('compression methods differ');
    if ((flags & 8) !== (entry.flags & 8)) throw new ZipFormatError('data descriptor flags differ');
    if (!sameBytes(bytes.subarray(at + 30, at + 30 + nameLength), entry.rawName)) {
      throw new ZipFormatError('names differ');
    }
    const zip64 = compressedSize === U32_MAX || uncompressedSize === U32_MAX;
    if (zip64) {
      // A local zip64 extra holds both sizes, uncompressed first.
      const sizes = localZip64Sizes(read, at + 30 + nameLength, dataStart);
      if (!sizes) throw new ZipFormatError('zip64 sizes missing');
      ({ compressedSize, uncompressedSize } = sizes);
    }
    const dataEnd = dataStart + entry.compressedSize;
    if (dataEnd > bytes.length) throw new ZipFormatError('data out of bounds');
    let end = dataEnd;
    if (flags & 8) {
      // Sizes follow the data; the local fields are zero or, from some writers, the same sizes again.
      if ((compressedSize !== 0 || uncompressedSize !== 0) && !sameSizes(entry, compressedSize, uncompressedSize)) {
        throw new ZipFormatError('local and central sizes differ');
      }
      const descriptor = readDataDescriptor(read, dataEnd, zip64 || entry.uncompressedSize >= U32_MAX);
      if (!sameSizes(entry, descriptor.compressedSize, descriptor.uncompressedSize)) {
        throw new ZipFormatError('data descriptor and central sizes differ');
      }
      end = descriptor.end;
    } else if (!sameSizes(entry, compressedSize, uncompressedSize)) {
      throw new ZipFormatError('local and central sizes differ');
    }
    if (method === 0 && entry.compressedSize !== entry.uncompressedSize) {
      throw new ZipFormatError('stored entry with two sizes');
    }
    spans.push({ from: at, to: end });
  }
  // Entries that share bytes are the overlapping-file bomb (one kernel inflated by every entry); writers never do it.
  spans.sort((a, b) => a.from - b.from);
  for (let i = 1; i < spans.length; i++) {
    if ((spans[i] as { from: number }).from < (spans[i - 1] as { to: number }).to) {
      throw new ZipFormatError('entries overlap');
    }
  }
}

function sameSizes(entry: ZipEntry, compressedSize: number, uncompressedSize: number): boolean {
  return compressedSize === entry.compressedSize && uncompressedSize === entry.uncompressedSize;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function localZip64Sizes(
  read: ZipReader,
  start: number,
  end: number,
): { compressedSize: number; uncompressedSize: number } | undefined {
  for (let extra = start; extra + 4 <= end; extra += 4 + read.u16(extra + 2)) {
    if (read.u16(extra) === 0x0001 && read.u16(extra + 2) >= 16 && extra + 20 <= end) {
      return { uncompressedSize: read.u64(extra + 4), compressedSize: read.u64(extra + 12) };
    }
  }
  return undefined;
}

/** The data descriptor at `at`, as SheetJS reads it: optional signature, CRC-32, both sizes (8 bytes for zip64). */
function readDataDescriptor(
  read: ZipReader,
  at: number,
  zip64: boolean,
): { compressedSize: number; uncompressedSize: number; end: number } {
  let field = at + 4; // the CRC-32
  if (read.u32(at) === DATA_DESCRIPTOR_SIGNATURE) field += 4;
  if (zip64) return { compressedSize: read.u64(field), uncompressedSize: read.u64(field + 8), end: field + 16 };
  return { compressedSize: read.u32(field), uncompressedSize: read.u32(field + 4), end: field + 8 };
}

// ---------- OLE2 / compound file (xls, encrypted OOXML) ----------

const OLE_MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

function sniffOle(bytes: Uint8Array): SniffResult {
  const streams = oleStreamNames(bytes);
  // Office encrypts a whole OOXML package into an OLE file: EncryptionInfo + EncryptedPackage.
  if (streams.has('encryptioninfo') || streams.has('encryptedpackage')) {
    throw new IngestError('SHEET_ENCRYPTED', 'The workbook is password-protected (encrypted Office file).');
  }
  if (streams.has('workbook') || streams.has('book'))
    return { kind: 'spreadsheet', format: 'xls', mediaType: MEDIA_TYPES.xls };
  throw new IngestError('UNSUPPORTED_TYPE', 'The file is an Office document that is not a spreadsheet.');
}

/**
 * Names of the OLE directory entries, found by scanning every 128-byte slot after the 512-byte header rather than
 * following the FAT chain: directory sectors are always 128-byte aligned, and a scan cannot be sent into a loop by a
 * hostile sector chain. A slot counts only when its declared name length matches a clean UTF-16 name.
 */
function oleStreamNames(bytes: Uint8Array): Set<string> {
  const names = new Set<string>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 512; at + 128 <= bytes.length; at += 128) {
    const nameBytes = view.getUint16(at + 64, true);
    const type = bytes[at + 66];
    if (nameBytes < 4 || nameBytes > 64 || nameBytes % 2 !== 0 || (type !== 1 && type !== 2 && type !== 5)) continue;
    let name = '';
    let clean = true;
    for (let i = 0; i < nameBytes / 2 - 1; i++) {
      const code = view.getUint16(at + i * 2, true);
      if (code < 0x20 && code !== 0x01 && code !== 0x05 && code !== 0x06) {
        clean = false;
        break;
      }
      name += String.fromCharCode(code);
    }
    if (clean && view.getUint16(at + nameBytes - 2, true) === 0) names.add(name.toLowerCase());
  }
  return names;
}

// ---------- text and CSV ----------

/** Share of control characters above which decoded text is treated as binary. */
const MAX_CONTROL_RATIO = 0.01;

function sniffText(bytes: Uint8Array, ext: string): SniffResult {
  const encoding = detectEncoding(bytes);
  let text: string;
  try {
    text = new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    if (encoding === 'utf-8' && looksLikeLegacyText(bytes)) {
      throw new IngestError('TEXT_ENCODING', 'The file looks like text but is not UTF-8 or UTF-16; save it as UTF-8.');
    }
    if (encoding !== 'utf-8')
      throw new IngestError('TEXT_ENCODING', 'The file starts with a UTF-16 byte order mark but is not valid UTF-16.');
    throw new IngestError('UNSUPPORTED_TYPE', 'The file type is not supported (not a PDF, spreadsheet or text file).');
  }
  if (!looksLikeText(text))
    throw new IngestError('UNSUPPORTED_TYPE', 'The file type is not supported (not a PDF, spreadsheet or text file).');
  const delimiter = detectDelimiter(text, ext === 'csv' || ext === 'tsv');
  if (delimiter !== undefined)
    return { kind: 'spreadsheet', format: 'csv', mediaType: MEDIA_TYPES.csv, encoding, delimiter };
  const markdown = ext === 'md' || ext === 'markdown';
  return { kind: 'text', format: 'text', mediaType: markdown ? MEDIA_TYPES.markdown : MEDIA_TYPES.text, encoding };
}

function detectEncoding(bytes: Uint8Array): TextEncodingName {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return 'utf-8';
}

/** No NUL, few control characters. Tab, line feed, carriage return and form feed are ordinary in text files. */
function looksLikeText(text: string): boolean {
  let controls = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) return false;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0x7f || (c >= 0x80 && c < 0xa0))
      controls++;
  }
  return controls <= Math.max(0, text.length * MAX_CONTROL_RATIO);
}

/** Invalid UTF-8 but mostly printable ASCII and no NULs: Latin-1 or Windows-1252 text rather than binary. */
function looksLikeLegacyText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 64 * 1024);
  let printable = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i] ?? 0;
    if (b === 0) return false;
    if ((b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d) printable++;
  }
  return printable / n >= 0.8;
}

const SAMPLE_CHARS = 64 * 1024;

/**
 * A delimiter when the text reads as a table: with a .csv/.tsv name, 80% of the first records share the same non-zero
 * field count; without one, every sampled record (at least three) has it, which prose almost never does.
 * Quoted fields may contain delimiters and line breaks.
 */
export function detectDelimiter(text: string, csvName: boolean): string | undefined {
  const truncated = text.length > SAMPLE_CHARS;
  const sample = truncated ? text.slice(0, SAMPLE_CHARS) : text;
  const candidates = csvName ? [',', ';', '\t', '|'] : [',', ';', '\t'];
  const counts = countDelimitersPerRecord(sample, candidates, truncated);
  let best: { delimiter: string; share: number; fields: number } | undefined;
  for (const delimiter of candidates) {
    const perRecord = counts.get(delimiter) ?? [];
    if (perRecord.length < 2) continue;
    const mode = modeOf(perRecord);
    if (mode === 0) continue;
    const share = perRecord.filter((c) => c === mode).length / perRecord.length;
    const ok = csvName
      ? share >= 0.8
      : share === 1 && perRecord.length >= 3 && (delimiter === '\t' || mode >= 2 || perRecord.length >= 5);
    if (ok && (!best || share > best.share || (share === best.share && mode > best.fields)))
      best = { delimiter, share, fields: mode };
  }
  return best?.delimiter;
}

function countDelimitersPerRecord(sample: string, candidates: string[], dropLast: boolean): Map<string, number[]> {
  const result = new Map<string, number[]>(candidates.map((d) => [d, []]));
  const current = new Map<string, number>(candidates.map((d) => [d, 0]));
  let inQuotes = false;
  let recordHasContent = false;
  const endRecord = (): void => {
    if (recordHasContent) for (const d of candidates) result.get(d)?.push(current.get(d) ?? 0);
    for (const d of candidates) current.set(d, 0);
    recordHasContent = false;
  };
  let records = 0;
  for (let i = 0; i < sample.length && records < 200; i++) {
    const ch = sample[i] as string;
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && (ch === '\n' || ch === '\r')) {
      if (recordHasContent) records++;
      endRecord();
      continue;
    } else if (!inQuotes && current.has(ch)) current.set(ch, (current.get(ch) ?? 0) + 1);
    if (ch !== ' ' && ch !== '\t') recordHasContent = true;
  }
  // The last record of a truncated sample is partial; of a whole text it is real.
  if (!dropLast && !inQuotes) endRecord();
  return result;
}

function modeOf(values: number[]): number {
  const freq = new Map<number, number>();
  let best = 0;
  let bestCount = 0;
  for (const v of values) {
    const n = (freq.get(v) ?? 0) + 1;
    freq.set(v, n);
    if (n > bestCount || (n === bestCount && v > best)) {
      best = v;
      bestCount = n;
    }
  }
  return best;
}

// ---------- helpers ----------

function extensionOf(fileName: string | undefined): string {
  const match = fileName ? /\.([A-Za-z0-9]{1,8})$/.exec(fileName) : null;
  return match?.[1]?.toLowerCase() ?? '';
}

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return magic.every((b, i) => bytes[i] === b);
}

function indexOfAscii(bytes: Uint8Array, needle: string, from: number, to: number): number {
  const end = Math.min(bytes.length, to) - needle.length;
  outer: for (let i = from; i <= end; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle.charCodeAt(j)) continue outer;
    return i;
  }
  return -1;
}
