// Builds dist/ and dist-sample/ once before the suite (as `npm run build:sample` does): the
// failover tests run replicas as separate processes on the built package, and the sample tests
// run the built sample app.
import { execFileSync } from 'node:child_process';

export default function globalSetup() {
  for (const project of ['tsconfig.build.json', 'tsconfig.sample.json']) {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], {
      stdio: 'inherit',
    });
  }
}
