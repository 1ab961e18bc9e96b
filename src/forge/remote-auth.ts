/**
 * Credentials for network git (clone, fetch, push) that never touch argv or .git/config: an
 * `Authorization` header for the environment of one command (GIT_CONFIG_COUNT/KEY/VALUE), scoped
 * to the remote's host. Shared by the service's GitOps clone and the actions' workspaces.
 */

/** A remote URL with any user:password removed, for logs. */
export function redactRemote(remote: string): string {
  return remote.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}

/**
 * An HTTP(S) remote split into the URL git stores (no user:password) and the credentials, which
 * travel only as an `Authorization` header in the environment of each network command
 * (GIT_CONFIG_COUNT/KEY/VALUE: not in argv, where `ps` shows it, nor in .git/config), scoped to
 * the remote's host so a redirect elsewhere does not get it. Other remotes pass unchanged.
 */
export interface RemoteAuth {
  url: string;
  header?: { key: string; value: string };
}

export function remoteAuth(remote: string): RemoteAuth {
  const match = /^(https?:\/\/)([^@/]*)@(.*)$/i.exec(remote);
  if (match === null) return { url: remote };
  const scheme = match[1]!;
  const userinfo = match[2]!;
  const rest = match[3]!;
  const colon = userinfo.indexOf(':');
  const user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? '' : decodeURIComponent(userinfo.slice(colon + 1));
  return { url: `${scheme}${rest}`, header: basicHeader(scheme, rest, user, password) };
}

/** Basic credentials as an extraHeader scoped to the scheme and host that start `rest`. */
function basicHeader(scheme: string, rest: string, user: string, password: string): RemoteAuth['header'] {
  const host = /^[^/?#]*/.exec(rest)![0];
  return {
    key: `http.${scheme}${host}/.extraHeader`,
    value: `Authorization: Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  };
}

/** Text (a git error message) with the user info of every URL in it removed. */
export function redactUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@/\s'"]*@/gi, '$1***@');
}

/**
 * The header a GitHub token gives for `remote` (as actions/checkout sends it: user
 * x-access-token), or undefined when the remote is not HTTP(S) (a path or ssh: nothing to send).
 */
export function tokenHeader(remote: string, token: string): RemoteAuth['header'] {
  const match = /^(https?:\/\/)(?:[^@/]*@)?(.*)$/i.exec(remote);
  if (match === null) return undefined;
  return basicHeader(match[1]!, match[2]!, 'x-access-token', token);
}

/**
 * The GIT_CONFIG_* entries that send `header` with each request of one command: first an empty
 * value, which clears the headers of the same key from git's config files (a checkout that kept
 * its own credentials would otherwise send two Authorization headers, which GitHub refuses), then
 * the header itself. git never prompts: a bad token fails instead of waiting for a password.
 */
export function headerEnv(header: { key: string; value: string }): Record<string, string> {
  return {
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: header.key,
    GIT_CONFIG_VALUE_0: '',
    GIT_CONFIG_KEY_1: header.key,
    GIT_CONFIG_VALUE_1: header.value,
    GIT_TERMINAL_PROMPT: '0',
  };
}
