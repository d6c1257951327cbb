// Prints each failed vitest test (file, name, first lines of its message) from JSON reports, so that the
// tail of a CI log names what failed. Silent when every test passed; a missing report is skipped.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

for (const report of process.argv.slice(2)) {
  if (!existsSync(report)) continue;
  const run = JSON.parse(readFileSync(report, 'utf8'));
  for (const file of run.testResults ?? []) {
    const failed = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    if (failed.length === 0 && file.status === 'failed') {
      console.log(`FAILED ${relative(process.cwd(), file.name)}: ${firstLines(file.message)}`);
    }
    for (const test of failed) {
      console.log(`FAILED ${relative(process.cwd(), file.name)} > ${test.fullName}`);
      console.log(`       ${firstLines((test.failureMessages ?? []).join('\n'))}`);
    }
  }
}

function firstLines(text = '') {
  return text.split('\n').slice(0, 4).join('\n       ').slice(0, 800);
}
