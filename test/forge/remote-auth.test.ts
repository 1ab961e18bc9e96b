import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tokenHeader } from '../../src/forge/remote-auth.js';

describe('tokenHeader: a GitHub token as a header scoped to the remote host', () => {
  const basic = (token: string) =>
    `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;

  it('scopes to scheme and host, whatever the path or user info of the remote', () => {
    assert.deepEqual(tokenHeader('https://github.com/acme/fleet', 'ghs_abc'), {
      key: 'http.https://github.com/.extraHeader',
      value: basic('ghs_abc'),
    });
    // a checkout's remote with old credentials in it: replaced, not combined
    assert.deepEqual(tokenHeader('https://someone:old@ghe.example.com:8443/acme/fleet.git', 'ghs_new'), {
      key: 'http.https://ghe.example.com:8443/.extraHeader',
      value: basic('ghs_new'),
    });
  });

  it('has nothing to send to a path or an ssh remote', () => {
    assert.equal(tokenHeader('/srv/git/fleet.git', 'ghs_abc'), undefined);
    assert.equal(tokenHeader('git@github.com:acme/fleet.git', 'ghs_abc'), undefined);
    assert.equal(tokenHeader('ssh://git@github.com/acme/fleet.git', 'ghs_abc'), undefined);
  });
});
