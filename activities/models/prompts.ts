// Versioned prompts (prompts/answer/vN.md, changes in prompts/CHANGELOG.md). The files are the source of truth: they
// are read from the package's prompts/ folder at run time, from source (tsx, jest) and from the built code (dist/)
// alike, and checked once per process. A version is named vN; the latest is the highest N.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { GroundworkError } from '../../common/errors';

export interface AnswerPrompt {
  /** vN, the file's name. */
  version: string;
  /** The system message sent to the chat model. */
  system: string;
  /** SHA-256 (hex) of `system`: identifies the exact text a version sent. */
  sha256: string;
}

/** A version that is not in prompts/answer (GROUNDWORK_PROMPT_VERSION, a request's promptVersion): a configuration error. */
export class UnknownPromptVersionError extends GroundworkError {
  override readonly name = 'UnknownPromptVersionError';
  constructor(version: string, known: string[]) {
    super(
      'PROMPT_VERSION_UNKNOWN',
      `Unknown prompt version "${version.slice(0, 40)}"; known versions: ${known.join(', ') || 'none'}.`,
    );
  }
}

/** A prompt file that is not a usable prompt (a shipping or editing mistake). */
export class PromptFileError extends GroundworkError {
  override readonly name = 'PromptFileError';
  constructor(message: string) {
    super('PROMPT_INVALID', message);
  }
}

export const PROMPT_VERSION_PATTERN = /^v([1-9]\d{0,5})$/;
/** A system prompt is a few hundred words; anything much longer is a mistake (or a pasted document). */
const MAX_PROMPT_CHARS = 8000;
/** What every answer prompt must tell the model: the delimiters renderContext uses, and the abstention field. */
const REQUIRED = [
  ['<chunk', 'the <chunk> delimiter'],
  ['<question>', 'the <question> delimiter'],
  ['notFound', 'the notFound answer field'],
] as const;

/**
 * The package's prompts/ folder: the nearest one above this module that holds answer prompts. From source that is
 * <root>/prompts; from the built code (dist/activities/models) the walk passes dist/ and finds the same folder.
 */
export function promptsDir(from: string = __dirname): string {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'prompts');
    if (existsSync(path.join(candidate, 'answer')) && existsSync(path.join(candidate, 'CHANGELOG.md')))
      return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new PromptFileError('The prompts folder (prompts/answer, prompts/CHANGELOG.md) was not found with the code.');
}

/** The system text of a prompt file: its leading HTML comment dropped, its non-empty lines joined by single spaces. */
export function parsePromptFile(raw: string): string {
  const body = raw.replace(/^\uFEFF/, '').replace(/^\s*<!--[\s\S]*?-->/, '');
  return body
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');
}

function check(version: string, system: string): void {
  if (!system) throw new PromptFileError(`Prompt ${version} is empty.`);
  if (system.length > MAX_PROMPT_CHARS)
    throw new PromptFileError(`Prompt ${version} is longer than ${MAX_PROMPT_CHARS} characters.`);
  if (system.includes('<!--')) throw new PromptFileError(`Prompt ${version} has a comment after its text begins.`);
  for (const [needle, what] of REQUIRED)
    if (!system.includes(needle)) throw new PromptFileError(`Prompt ${version} does not describe ${what}.`);
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

const cache = new Map<string, AnswerPrompt[]>();

/** Every answer prompt in `dir` (default: the package's), ordered by version, each checked. Read once per folder. */
export function loadAnswerPrompts(dir: string = promptsDir()): AnswerPrompt[] {
  const cached = cache.get(dir);
  if (cached) return cached;
  const answerDir = path.join(dir, 'answer');
  const files = readdirSync(answerDir).filter((f) => f.endsWith('.md'));
  const prompts = files.map((file) => {
    const version = file.slice(0, -'.md'.length);
    if (!PROMPT_VERSION_PATTERN.test(version))
      throw new PromptFileError(`Prompt file ${file.slice(0, 60)} is not named vN.md (v1.md, v2.md, …).`);
    const system = parsePromptFile(readFileSync(path.join(answerDir, file), 'utf8'));
    check(version, system);
    return { version, system, sha256: sha256(system) };
  });
  if (prompts.length === 0) throw new PromptFileError('There is no answer prompt in prompts/answer.');
  prompts.sort((a, b) => versionNumber(a.version) - versionNumber(b.version));
  cache.set(dir, prompts);
  return prompts;
}

export const versionNumber = (version: string): number => Number(PROMPT_VERSION_PATTERN.exec(version)?.[1] ?? NaN);

/** The known versions, oldest first. */
export function promptVersions(dir?: string): string[] {
  return loadAnswerPrompts(dir).map((p) => p.version);
}

export function latestPromptVersion(dir?: string): string {
  return loadAnswerPrompts(dir).at(-1)!.version;
}

/** The answer prompt of `version` (unset: the latest); an unknown version is an UnknownPromptVersionError. */
export function answerPrompt(version?: string, dir?: string): AnswerPrompt {
  const prompts = loadAnswerPrompts(dir);
  if (version === undefined) return prompts.at(-1)!;
  const found = prompts.find((p) => p.version === version);
  if (!found)
    throw new UnknownPromptVersionError(
      version,
      prompts.map((p) => p.version),
    );
  return found;
}
