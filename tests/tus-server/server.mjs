#!/usr/bin/env node
// Real TUS peer for the scriptix-compat integration tests and benchmarks.
//
//   node server.mjs --dir DIR [--port N] [--host 127.0.0.1] [--max-size BYTES]
//                   [--exit-with-parent]
//
// --port 0 (the default) picks a free port. --max-size sets Tus-Max-Size (413 above it).
// --exit-with-parent: exit when the process that started us goes away, so a
// test runner that is killed leaves no server behind.
//
// Routes:
//   /api/v3/files, /api/v3/files/, /api/v3/files/<id>   -> @tus/server + @tus/file-store (DIR)
//   PUT /sink/<name>                                     -> body streamed to DIR/sink-<name>, 204
//   /api/v3/speech-to-text/session...                    -> a minimal Scriptix session API (below)
//   anything else                                        -> 404
//
// The session API (for bench/ and tests that drive LegacyClient or the gateway against
// this one server; sessions live in memory only, nothing is checked but the JSON):
//   POST   /api/v3/speech-to-text/session            JSON object body (at most 64 KiB)
//          -> 200 {"result": {"session_id": "<26 hex>", "status": "new"}}
//   GET    /api/v3/speech-to-text/session/<id>         -> 200 {"result": {session_id, status, language, ...}}
//   GET    /api/v3/speech-to-text/session/<id>/result  -> 200 {"result": {session_id, status, ...}}
//   DELETE /api/v3/speech-to-text/session/<id>         -> 200 {"result": {session_id, status: "deleted"}}
//   an id never created (or deleted) -> 404 {"error": ...}; another method -> 405;
//   a body that is not a JSON object -> 400 {"error": ...}
//
// Once listening, exactly one line is printed on stdout: {"port": N}
// Nothing else is ever written to stdout; diagnostics go to stderr
// (set DEBUG=tus-node-server* for @tus/server's own debug log).
// SIGTERM / SIGINT close the server and exit 0.
//
// Uploads survive a restart on the same --dir: FileStore keeps the data in
// DIR/<id> and the upload info (length, metadata) in DIR/<id>.json, and the
// offset is the size of the data file.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';

import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';

const TUS_PATH = '/api/v3/files';
const SINK_PREFIX = '/sink/';
const SINK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const SESSION_PATH = '/api/v3/speech-to-text/session';
const SESSION_ITEM = /^\/([0-9a-f]{26})(\/result)?\/?$/;
const MAX_SESSION_BODY = 64 * 1024;

function fail(message) {
  process.stderr.write(`tus-server: ${message}\n`);
  process.exit(2);
}

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        dir: { type: 'string' },
        port: { type: 'string', default: '0' },
        host: { type: 'string', default: '127.0.0.1' },
        'max-size': { type: 'string' },
        'exit-with-parent': { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail(err.message);
  }
  if (!values.dir) {
    fail('--dir DIR is required');
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`invalid --port ${values.port}`);
  }
  let maxSize;
  if (values['max-size'] !== undefined) {
    maxSize = Number(values['max-size']);
    if (!Number.isSafeInteger(maxSize) || maxSize <= 0) {
      fail(`invalid --max-size ${values['max-size']}`);
    }
  }
  return {
    dir: path.resolve(values.dir),
    port,
    host: values.host,
    maxSize,
    exitWithParent: values['exit-with-parent'],
  };
}

const opts = parseOptions();
fs.mkdirSync(opts.dir, { recursive: true });

// GET of a finished upload: @tus/server wraps FileStore.read()'s fs.ReadStream in a
// web Response, and on Node 20 undici's async-iterable body path then throws
// "ReadableStream is already closed" from a microtask, which kills the process.
// Handing it a web ReadableStream instead avoids that path.
class WebReadFileStore extends FileStore {
  read(fileId) {
    return Readable.toWeb(super.read(fileId));
  }
}

const tus = new Server({
  path: TUS_PATH,
  datastore: new WebReadFileStore({ directory: opts.dir }),
  ...(opts.maxSize !== undefined ? { maxSize: opts.maxSize } : {}),
});

function sendPlain(res, status, body = '') {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers = status === 204 ? {} : { 'Content-Type': 'text/plain; charset=utf-8' };
  if (status !== 204) {
    headers['Content-Length'] = Buffer.byteLength(body);
  }
  res.writeHead(status, headers);
  res.end(status === 204 ? undefined : body);
}

async function handleSink(req, res, name) {
  if (req.method !== 'PUT') {
    req.resume();
    sendPlain(res, 404, 'Not found\n');
    return;
  }
  // "*.json" is refused so a sink file can never look like a FileStore info file.
  if (!SINK_NAME.test(name) || name.endsWith('.json')) {
    sendPlain(res, 400, 'Invalid sink name\n');
    return;
  }
  const target = path.join(opts.dir, `sink-${name}`);
  try {
    // Stream straight to disk; never hold the body in memory.
    await pipeline(req, fs.createWriteStream(target));
  } catch (err) {
    process.stderr.write(`tus-server: sink ${name}: ${err.message}\n`);
    sendPlain(res, 500, 'Sink write failed\n');
    return;
  }
  sendPlain(res, 204);
}

// -- the minimal session API -------------------------------------------------------------

const sessions = new Map(); // session_id -> {language, created}

function sendJson(res, status, value, extraHeaders = {}) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}

async function readJsonObject(req) {
  const parts = [];
  let size = 0;
  for await (const part of req) {
    // Read to the end (so the answer can be sent on a healthy connection), keep at most the limit.
    size += part.length;
    if (size <= MAX_SESSION_BODY) {
      parts.push(part);
    }
  }
  if (size > MAX_SESSION_BODY) {
    return undefined;
  }
  if (size === 0) {
    return {};
  }
  try {
    const value = JSON.parse(Buffer.concat(parts).toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function newSessionId() {
  let id;
  do {
    id = crypto.randomBytes(13).toString('hex');
  } while (sessions.has(id));
  return id;
}

async function handleSession(req, res, rest) {
  if (rest === '' || rest === '/') {
    if (req.method !== 'POST') {
      req.resume();
      sendJson(res, 405, { error: 'Method Not Allowed' }, { Allow: 'POST' });
      return;
    }
    const body = await readJsonObject(req);
    if (body === undefined) {
      sendJson(res, 400, { error: 'Invalid data: the body must be a JSON object of at most 64 KiB' });
      return;
    }
    const sessionId = newSessionId();
    sessions.set(sessionId, { language: typeof body.language === 'string' ? body.language : null });
    sendJson(res, 200, { result: { session_id: sessionId, status: 'new' } });
    return;
  }
  req.resume();
  const found = SESSION_ITEM.exec(rest);
  const session = found ? sessions.get(found[1]) : undefined;
  if (session === undefined) {
    sendJson(res, 404, { error: 'The requested session was not found' });
    return;
  }
  const sessionId = found[1];
  const isResult = found[2] !== undefined;
  if (req.method === 'GET') {
    const result = { session_id: sessionId, status: 'new', filename: null, media_type: null, error: null };
    sendJson(res, 200, { result: isResult ? result : { ...result, language: session.language } });
    return;
  }
  if (req.method === 'DELETE' && !isResult) {
    sessions.delete(sessionId);
    sendJson(res, 200, { result: { session_id: sessionId, status: 'deleted' } });
    return;
  }
  sendJson(res, 405, { error: 'Method Not Allowed' }, { Allow: isResult ? 'GET' : 'GET, DELETE' });
}

async function route(req, res) {
  let pathname;
  try {
    pathname = new URL(req.url, 'http://localhost').pathname;
  } catch {
    sendPlain(res, 400, 'Bad request URL\n');
    return;
  }
  if (pathname === TUS_PATH || pathname.startsWith(`${TUS_PATH}/`)) {
    await tus.handle(req, res);
    return;
  }
  if (pathname === SESSION_PATH || pathname.startsWith(`${SESSION_PATH}/`)) {
    await handleSession(req, res, pathname.slice(SESSION_PATH.length));
    return;
  }
  if (pathname.startsWith(SINK_PREFIX)) {
    let name;
    try {
      name = decodeURIComponent(pathname.slice(SINK_PREFIX.length));
    } catch {
      name = '';
    }
    await handleSink(req, res, name);
    return;
  }
  // Drain whatever body was sent so the connection can be reused.
  req.resume();
  sendPlain(res, 404, 'Not found\n');
}

const server = http.createServer((req, res) => {
  route(req, res).catch((err) => {
    process.stderr.write(`tus-server: ${req.method} ${req.url}: ${err?.stack ?? err}\n`);
    sendPlain(res, 500, 'Internal server error\n');
  });
});

server.on('error', (err) => {
  process.stderr.write(`tus-server: listen on ${opts.host}:${opts.port} failed: ${err.code ?? ''} ${err.message}\n`);
  process.exit(err.code === 'EADDRINUSE' ? 3 : 1);
});

server.listen(opts.port, opts.host, () => {
  const { port } = server.address();
  // One line, then nothing else on stdout. Writes to a pipe are synchronous on POSIX.
  process.stdout.write(`{"port": ${port}}\n`);
});

let closing = false;
function shutdown(signal) {
  if (closing) {
    return;
  }
  closing = true;
  process.stderr.write(`tus-server: ${signal}, closing\n`);
  server.close(() => process.exit(0));
  // Keep-alive and in-flight connections would otherwise hold close() open.
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
if (opts.exitWithParent) {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      shutdown('parent exited');
    }
  }, 500).unref();
}
process.on('SIGINT', () => shutdown('SIGINT'));
