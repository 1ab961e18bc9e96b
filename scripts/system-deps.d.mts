// Types of scripts/system-deps.mjs (plain JavaScript: it runs before `npm ci`), for its tests.
export declare const PACKAGES: Record<'torch' | 'peers' | 'prometheus' | 'chromium', string[]>;
export declare function rootPrefixFor(probes: {
  hasAptGet: boolean;
  uid: number | undefined;
  sudoWorks: () => boolean;
}): string[] | null;
export declare function aptCommands(prefix: string[], packages: string[]): Array<[string, string[]]>;
export declare function noRootMessage(
  packages: string[],
  why: string,
  machine: { hasAptGet: boolean },
): string;
export declare function chromiumPlan(machine: {
  env: Record<string, string | undefined>;
  exists: (path: string) => boolean;
  osId: string | undefined;
}): { path: string; install: string[] | null; error: string | null };
export declare function osId(text?: string): string | undefined;
export declare function asRoot(): string[] | null;
export declare function aptInstall(packages: string[], why: string, log?: (line: string) => void): void;
