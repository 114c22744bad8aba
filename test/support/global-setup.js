// Builds dist/ once before the suite: the failover tests run replicas as separate processes on
// the built package, and the sample app is compiled against it.
import { execFileSync } from 'node:child_process';

export default function globalSetup() {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}
