// The shapes ingest/ hands to the rest of the system: parsed blocks with precise locators, and chunks built from them.

/** Where a piece of text lives in its source document. Pages are 1-based. */
export type Locator =
  | { kind: 'page'; page: number }
  | { kind: 'pages'; from: number; to: number }
  | { kind: 'sheet'; sheet: string; range: string } // range in A1 notation, e.g. "A5:F12"
  | { kind: 'lines'; from: number; to: number }; // plain text, 1-based line numbers

export type DocumentKind = 'pdf' | 'spreadsheet' | 'text';

/** One structural unit of a parsed document. Chunking never splits a block of kind 'row'. */
export interface Block {
  kind: 'heading' | 'paragraph' | 'row' | 'table';
  text: string;
  locator: Locator;
  /** Nearest section heading, when known. */
  heading?: string;
  /** For spreadsheet rows: the header line repeated at the top of every chunk of the table. */
  tableHeader?: string;
  /** Identifies the table a row belongs to, so chunks never mix tables. */
  tableId?: string;
}

export interface IngestWarning {
  code: string; // e.g. 'OCR_LOW_CONFIDENCE', 'PAGE_NO_TEXT', 'HIDDEN_SHEET_SKIPPED'
  message: string;
  locator?: Locator;
}

export interface DocumentMetadata {
  title?: string;
  author?: string;
  createdAt?: string; // ISO 8601
  modifiedAt?: string; // ISO 8601
  pageCount?: number;
  sheetNames?: string[];
}

export interface ParsedDocument {
  kind: DocumentKind;
  /** Sniffed media type, e.g. application/pdf. */
  mediaType: string;
  metadata: DocumentMetadata;
  blocks: Block[];
  warnings: IngestWarning[];
  /** ocrConfidence: mean tesseract word confidence (0-100) over the pages whose text came from OCR. */
  stats: { pages?: number; sheets?: number; cells?: number; ocrPages?: number; ocrConfidence?: number; chars: number };
}

export interface Chunk {
  /** Position within the document version, 0-based and stable for the same bytes and options. */
  index: number;
  text: string;
  locator: Locator;
  heading?: string;
  tokens: number;
}

export interface IngestLimits {
  maxBytes: number;
  maxPages: number;
  maxCells: number;
  maxDecompressedBytes: number;
  timeoutMs: number;
  maxMemoryMb: number;
}

export interface ChunkingOptions {
  maxTokens: number;
  overlapTokens: number;
  /** Let prose flow across page breaks (chunks then cite a page range, `pp. 3-4`). Off by default. */
  acrossPages: boolean;
}

export interface ExtractInput {
  bytes: Uint8Array;
  /** Original file name: used for messages and as a weak hint only; the type is sniffed from content. */
  fileName?: string;
  password?: string;
  includeHiddenSheets?: boolean;
  ocr?: boolean;
  limits?: Partial<IngestLimits>;
  chunking?: Partial<ChunkingOptions>;
}

export interface ExtractResult {
  document: Omit<ParsedDocument, 'blocks'>;
  chunks: Chunk[];
}
