import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));

/** A fenced block of README.md. */
export interface Block {
  /** README line of the block's first code line. */
  line: number;
  /** The nearest heading above the block, with its hashes: `'### Fencing tokens'`. */
  heading: string;
  code: string;
}

/** Every block of README.md fenced as ```lang, in order. */
export async function readmeBlocks(lang = 'ts'): Promise<Block[]> {
  const readme = await readFile(`${root}README.md`, 'utf8');
  const found: Block[] = [];
  const lines = readme.split('\n');
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    if (/^#{1,6} /.test(lines[i])) heading = lines[i];
    if (!lines[i].startsWith('```')) continue;
    // Any fence is skipped whole, so a `#` line inside a shell block is no heading.
    const start = i + 1;
    let end = start;
    while (lines[end] !== '```') end++;
    if (lines[i] === '```' + lang) {
      found.push({ line: start + 1, heading, code: lines.slice(start, end).join('\n') });
    }
    i = end;
  }
  return found;
}
