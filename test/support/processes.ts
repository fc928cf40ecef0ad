/** Clean-up of the processes a crash test starts: nothing it spawned outlives it. */
import type { ChildProcess } from 'node:child_process';

/**
 * SIGKILLs every child still running and every stray pid (environments of a killed engine are
 * process groups of their own, so killing the engine leaves them), then empties both lists.
 */
export function killLeftovers(children: ChildProcess[], strays: Set<number>): void {
  for (const proc of children.splice(0)) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  strays.clear();
}
