// The node's HTTP/JSON API (docs/openapi.yaml) over fetch: the same in browsers and Node.
import { toHex } from './codec.js';
import { Transaction } from './tx.js';

export class ApiError extends Error {
  constructor(status, code, name, message) {
    super(`${name} (${code}): ${message}`);
    Object.assign(this, { status, code, name, detail: message });
  }
}

const hexOf = (x) => (typeof x === 'string' ? x : toHex(x));

export class Client {
  constructor(url = 'http://127.0.0.1:8080', { fetch: f = globalThis.fetch } = {}) {
    this.url = url.replace(/\/$/, '');
    this.fetch = f;
    this.chainInfo = null;
  }
  async request(method, path, body, params) {
    const qs = params ? `?${new URLSearchParams(params)}` : '';
    const res = await this.fetch(this.url + path + qs, {
      method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const j = await res.json().catch(() => null);
    if (!res.ok) {
      const e = j?.error ?? {};
      throw new ApiError(res.status, e.code ?? 0, e.name ?? 'HTTP', e.message ?? res.statusText);
    }
    return j;
  }
  get(path, params) { return this.request('GET', path, undefined, params); }

  health() { return this.get('/v1/health'); }
  /** {chain_id, genesis_hash, validator, development, height, tx_types} */
  async chain() { return (this.chainInfo ??= await this.get('/v1/chain')); }
  account(pk) { return this.get(`/v1/accounts/${hexOf(pk)}`); }
  async nonce(pk) { return BigInt((await this.account(pk)).nonce); }
  /** {tx, receipt, header, bundle}: the bundle verifies offline (verifyBundle). */
  tx(id) { return this.get(`/v1/tx/${hexOf(id)}`); }
  block(height = 'latest') { return this.get(`/v1/blocks/${height}`); }
  state(key, height) { return this.get('/v1/state', { key: hexOf(key), ...(height === undefined ? {} : { height }) }); }
  /** A module's query: GET /v1/<module>/<path>?params. */
  query(module, path, params) { return this.get(`/v1/${module}/${path}`, params); }

  /** Sends signed transactions (one, or an array as one batch). With wait, resolves once
   * each is committed (status "committed", with its receipt) or the timeout has passed. */
  async submit(txs, { wait = false, timeoutMs } = {}) {
    const one = !Array.isArray(txs);
    const raws = (one ? [txs] : txs).map((t) => (t instanceof Transaction ? t.hex() : hexOf(t)));
    const params = {};
    if (wait) params.wait = 'commit';
    if (timeoutMs !== undefined) params.timeout_ms = String(timeoutMs);
    const r = await this.request('POST', '/v1/tx', one ? { tx: raws[0] } : { txs: raws }, params);
    return one ? r : r.results;
  }

  /** Server-Sent Events of `path`: yields {event, id, data}. Stop with the AbortSignal. */
  async *events(path, params, signal) {
    const qs = params ? `?${new URLSearchParams(params)}` : '';
    const res = await this.fetch(this.url + path + qs, { headers: { Accept: 'text/event-stream' }, signal });
    if (!res.ok) throw new ApiError(res.status, 0, 'HTTP', res.statusText);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    let ev = { event: 'message', id: null, data: [] };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (line === '') {
          if (ev.data.length) yield { event: ev.event, id: ev.id, data: JSON.parse(ev.data.join('\n')) };
          ev = { event: 'message', id: ev.id, data: [] };
        } else if (!line.startsWith(':')) {
          const at = line.indexOf(':');
          const name = at < 0 ? line : line.slice(0, at);
          const v = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
          if (name === 'event') ev.event = v;
          else if (name === 'data') ev.data.push(v);
          else if (name === 'id') ev.id = v;
        }
      }
    }
  }
  /** Each committed block ("block" events), and "gap" events for blocks no longer held. */
  blocks(fromHeight, signal) { return this.events('/v1/events/blocks', fromHeight === undefined ? undefined : { from: String(fromHeight) }, signal); }
  /** The per-account stream of nodes that serve it. */
  accountEvents(pk, signal) { return this.events(`/v1/events/accounts/${hexOf(pk)}`, undefined, signal); }
}
