// A small RFC 6455 client for the tests (Node 20 has no WebSocket without a
// flag): the handshake with Sec-WebSocket-Accept checked, masked frames,
// fragments joined, pings answered, close frames answered once.
import * as net from 'node:net';
import * as crypto from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * Opens a WebSocket on url (ws://host:port/path). Resolves with the client
 * once the 101 arrived; rejects with the status line and headers otherwise
 * (err.status).
 */
export function wsConnect(url, headers = {}) {
  const u = new URL(url);
  const key = crypto.randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      const head = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(head[0].split(' ')[1]);
      const hs = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        hs[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      if (status !== 101) {
        sock.destroy();
        reject(Object.assign(new Error(`handshake answered ${head[0]}`), { status, headers: hs }));
        return;
      }
      const accept = crypto.createHash('sha1').update(key + GUID).digest('base64');
      if (hs['sec-websocket-accept'] !== accept) {
        sock.destroy();
        reject(new Error('bad Sec-WebSocket-Accept'));
        return;
      }
      resolve(new WSClient(sock, buf.subarray(end + 4), hs));
    };
    sock.on('data', onData);
    sock.on('error', reject);
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    sock.write(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    );
  });
}

class WSClient {
  constructor(sock, rest, headers) {
    this.sock = sock;
    this.headers = headers;
    this.buf = Buffer.alloc(0);
    this.queue = []; // received messages
    this.waiters = [];
    this.frag = null;
    this.closeSent = false;
    this.ended = false;
    sock.on('data', (d) => this.#feed(d));
    sock.on('close', () => {
      this.ended = true;
      this.#push({ type: 'end' });
    });
    sock.on('error', () => undefined);
    if (rest.length) this.#feed(rest);
  }

  /** The next message: {type: 'text'|'binary', data} or {type: 'close', code, reason} or {type: 'end'}. */
  next() {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.ended) return Promise.resolve({ type: 'end' });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async nextText() {
    const m = await this.next();
    if (m.type !== 'text') throw new Error(`expected a text message, got ${JSON.stringify(m)}`);
    return m.data;
  }

  sendText(s) {
    this.#send(1, Buffer.from(s, 'utf8'));
  }

  sendBinary(b) {
    this.#send(2, Buffer.from(b));
  }

  close(code = 1000, reason = '') {
    const p = Buffer.alloc(2 + Buffer.byteLength(reason));
    p.writeUInt16BE(code, 0);
    p.write(reason, 2);
    this.closeSent = true;
    this.#send(8, p);
  }

  destroy() {
    this.sock.destroy();
  }

  #push(m) {
    const w = this.waiters.shift();
    if (w) w(m);
    else this.queue.push(m);
  }

  #send(opcode, payload) {
    const mask = crypto.randomBytes(4);
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | opcode, 0x80 | n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    if (n >= 126 && n < 65536) {
      head[0] = 0x80 | opcode;
      head[1] = 0x80 | 126;
      head.writeUInt16BE(n, 2);
    } else if (n >= 65536) {
      head[0] = 0x80 | opcode;
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(n), 2);
    }
    const body = Buffer.alloc(n);
    for (let i = 0; i < n; i++) body[i] = payload[i] ^ mask[i & 3];
    if (!this.sock.destroyed) this.sock.write(Buffer.concat([head, mask, body]));
  }

  #feed(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const fin = (this.buf[0] & 0x80) !== 0;
      const opcode = this.buf[0] & 0x0f;
      let n = this.buf[1] & 0x7f;
      let off = 2;
      if (n === 126) {
        if (this.buf.length < 4) return;
        n = this.buf.readUInt16BE(2);
        off = 4;
      } else if (n === 127) {
        if (this.buf.length < 10) return;
        n = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + n) return;
      const payload = this.buf.subarray(off, off + n);
      this.buf = this.buf.subarray(off + n);
      if (opcode === 9) {
        this.#send(10, payload);
      } else if (opcode === 8) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        const reason = payload.subarray(2).toString('utf8');
        if (!this.closeSent) this.close(code === 1005 ? 1000 : code);
        this.#push({ type: 'close', code, reason });
      } else if (opcode === 0 || opcode === 1 || opcode === 2) {
        if (opcode !== 0) this.frag = { opcode, parts: [] };
        this.frag.parts.push(Buffer.from(payload));
        if (fin) {
          const data = Buffer.concat(this.frag.parts);
          this.#push(this.frag.opcode === 1 ? { type: 'text', data: data.toString('utf8') } : { type: 'binary', data });
          this.frag = null;
        }
      }
    }
  }
}
