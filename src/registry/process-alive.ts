/**
 * Whether a process of this host with `pid` is running (signal 0 probes without signalling). A
 * process of another user answers EPERM: it exists. Writers use this to tell a crashed writer's
 * leftovers (temp directories, locks) from a live writer's.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
