/** `s3://…`, `https://…`, `prometheus+http://…`: a URL, not a local path (any scheme). */
export function isRemote(path: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(path);
}
