// Writes the attack table into the README, between its markers: `pnpm table`.
import { readFileSync, writeFileSync } from 'node:fs';
import { markdownTable, README_BEGIN, README_END } from './table.js';

const file = new URL('../README.md', import.meta.url);
const readme = readFileSync(file, 'utf8');
const begin = readme.indexOf(README_BEGIN);
const end = readme.indexOf(README_END);
if (begin < 0 || end < begin) throw new Error(`README.md: the markers ${README_BEGIN} and ${README_END} are missing`);
writeFileSync(file, `${readme.slice(0, begin + README_BEGIN.length)}\n${markdownTable()}\n${readme.slice(end)}`);
console.log(`README.md: wrote the attack table`);
